// Generated from openapi.yaml by `npm run gen`. Do not edit.

export interface paths {
    "/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Say hello
         * @description The guide's first endpoint.
         */
        get: operations["getRoot"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness probe
         * @description Answers as long as the process serves HTTP. It never touches the database, so a database outage does not get a live process restarted.
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness probe
         * @description Answers 200 when the database answers within a second, 503 otherwise. Load balancers should route traffic only to ready instances.
         */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/protected": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Call with an API key
         * @description The guide's dependency-chain example. The key is sent in the `X-API-Key`
         *     header or the `token` query parameter; valid keys come from the server's
         *     configuration. No key is 401; a wrong key is 403.
         */
        get: operations["getProtected"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description A short human-readable message. */
        Message: {
            /**
             * @description The message text.
             * @example Hello World
             */
            message: string;
        };
        /** @description Liveness of the process. */
        Health: {
            /**
             * @description Always `healthy` when the process answers.
             * @example healthy
             * @constant
             */
            status: "healthy";
        };
        /** @description Readiness of the instance and of what it depends on. */
        Readiness: {
            /**
             * @description Always `ready` in a 200 answer.
             * @example ready
             * @constant
             */
            status: "ready";
            /** @description One entry per dependency that was checked. */
            checks: {
                /**
                 * @description The database answered a trivial query.
                 * @example ok
                 * @constant
                 */
                database: "ok";
            };
        };
        /** @description The members of an RFC 9457 problem document, shared by `Problem` and `ValidationProblem`. */
        ProblemFields: {
            /**
             * Format: uri-reference
             * @description A URI reference naming the kind of problem; `about:blank` when the status says it all.
             * @example about:blank
             */
            type: string;
            /**
             * @description A short summary of the kind of problem; the same for every occurrence.
             * @example Not Found
             */
            title: string;
            /**
             * @description The HTTP status code, repeated for convenience.
             * @example 404
             */
            status: number;
            /**
             * @description What went wrong in this occurrence, for a human.
             * @example No operation matches GET /nope.
             */
            detail?: string;
            /**
             * Format: uri-reference
             * @description The path of the request that failed.
             * @example /nope
             */
            instance?: string;
            /**
             * @description The request's id, as in the `X-Request-ID` header; quote it when reporting a problem.
             * @example 9f0c1a52-6d3e-4a8b-9e77-2a4b9d1f0c3e
             */
            request_id?: string;
        };
        /** @description An RFC 9457 problem document. */
        Problem: components["schemas"]["ProblemFields"];
        /** @description A problem document for a request that failed validation, with one entry per violation. */
        ValidationProblem: {
            /** @description One entry per violation. */
            errors: components["schemas"]["ValidationError"][];
        } & components["schemas"]["ProblemFields"];
        /** @description One violation of the request's schema. */
        ValidationError: {
            /**
             * @description Which part of the request is wrong.
             * @example query
             * @enum {string}
             */
            in: "body" | "query" | "path" | "header" | "cookie";
            /**
             * @description A JSON Pointer to the offending value inside that part; for parameters it starts with the parameter's name.
             * @example /limit
             */
            path: string;
            /**
             * @description What is wrong, for a human.
             * @example must be <= 100
             */
            message: string;
            /**
             * @description The JSON Schema keyword that failed, for a program.
             * @example maximum
             */
            keyword: string;
        };
        /** @description The paging envelope that every list answer shares; each list adds its own `items`. */
        PageMeta: {
            /**
             * @description How many entries match, over all pages.
             * @example 42
             */
            total: number;
            /**
             * @description The `skip` that was applied.
             * @example 0
             */
            skip: number;
            /**
             * @description The `limit` that was applied.
             * @example 10
             */
            limit: number;
        };
    };
    responses: {
        /** @description The body could not be parsed (for example malformed JSON). */
        BadRequest: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No credentials, or credentials that are not valid. */
        Unauthorized: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The credentials are valid but not allowed to do this. */
        Forbidden: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The resource does not exist, or the caller may not know that it does. */
        NotFound: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The body is larger than the configured limit. */
        PayloadTooLarge: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The body's content type is not one the operation accepts. */
        UnsupportedMediaType: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request does not match the operation's schema; one entry per violation. */
        ValidationFailed: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["ValidationProblem"];
            };
        };
        /** @description An unexpected failure; the body never contains internals. Quote `request_id` when reporting it. */
        InternalError: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A dependency (the database) does not answer; try again later. */
        ServiceUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /**
         * @description How many entries to skip from the start of the list.
         * @example 0
         */
        Skip: number;
        /**
         * @description The largest number of entries to return.
         * @example 10
         */
        Limit: number;
    };
    requestBodies: never;
    headers: {
        /**
         * @description The request's id, for correlating logs. The client's own value is echoed when it is 1..128 characters of `[A-Za-z0-9._:-]`.
         * @example 9f0c1a52-6d3e-4a8b-9e77-2a4b9d1f0c3e
         */
        XRequestId: string;
        /**
         * @description Seconds the server spent on the request, as in the guide's timing middleware.
         * @example 0.000812
         */
        XProcessTime: string;
        /**
         * @description The authentication scheme the operation expects (RFC 9110).
         * @example Bearer
         */
        WWWAuthenticate: string;
        /**
         * @description Seconds to wait before trying again.
         * @example 30
         */
        RetryAfter: number;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getRoot: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A greeting. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            500: components["responses"]["InternalError"];
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is alive. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            500: components["responses"]["InternalError"];
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready to serve traffic. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getProtected: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key is valid. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            500: components["responses"]["InternalError"];
        };
    };
}
