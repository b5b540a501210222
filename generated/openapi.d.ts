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
    "/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in with email and password
         * @description The OAuth2 password grant. `username` is the account's email (compared
         *     case-insensitively). An unknown email and a wrong password get the same
         *     answer. Repeated failures for one account or from one client address are
         *     answered `429` with `Retry-After` until the window passes.
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List users
         * @description Admins only (the guide leaves it public, which leaks every email). Newest first.
         */
        get: operations["listUsers"];
        put?: never;
        /**
         * Sign up
         * @description Creates an account with role `user`. The email must not be taken (compared case-insensitively).
         */
        post: operations["createUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Register with a username
         * @description The guide's registration form: a username, an email, the password typed
         *     twice and an optional phone number. `confirm_password` must equal
         *     `password` (a 422 entry on `/confirm_password` otherwise). Creates the
         *     same account as `createUser`, with the username as its full name.
         */
        post: operations["register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read your own account
         * @description The account the bearer token belongs to, with its `ETag`; `If-None-Match` with it answers 304.
         */
        get: operations["getCurrentUser"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The account's id.
                 * @example 1
                 */
                user_id: components["parameters"]["UserId"];
            };
            cookie?: never;
        };
        /**
         * Read an account
         * @description Your own account, or any account for an admin, with its `ETag`; `If-None-Match` with it answers 304.
         */
        get: operations["getUser"];
        put?: never;
        post?: never;
        /**
         * Delete an account
         * @description Admins only. Tokens of the deleted account stop working at once. With `If-Match`, only the version it names is deleted (412 otherwise).
         */
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        /**
         * Change an account
         * @description Only the fields sent change. Your own account, or any account for an
         *     admin; only an admin may change `role` and `is_active` (403 otherwise).
         *     The email must not be taken by another account (409). With `If-Match`,
         *     only the version it names is changed (412 otherwise); the answer carries
         *     the new `ETag`.
         */
        patch: operations["updateUser"];
        trace?: never;
    };
    "/items": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Browse the catalogue
         * @description Newest first. `q` matches name or description, case-insensitively.
         */
        get: operations["listItems"];
        put?: never;
        /**
         * Put an item on sale
         * @description The caller becomes the item's owner.
         */
        post: operations["createItem"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/items/{item_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The item's id.
                 * @example 1
                 */
                item_id: components["parameters"]["ItemId"];
            };
            cookie?: never;
        };
        /**
         * Read an item
         * @description Anyone may read any item of the catalogue, with its `ETag`; `If-None-Match` with it answers 304.
         */
        get: operations["getItem"];
        put?: never;
        post?: never;
        /**
         * Take an item off sale
         * @description The owner or an admin; anyone else gets 404. Orders that contain it keep
         *     their lines. With `If-Match`, only the version it names is deleted (412 otherwise).
         */
        delete: operations["deleteItem"];
        options?: never;
        head?: never;
        /**
         * Change an item
         * @description Only the fields sent change. The owner or an admin; anyone else gets 404.
         *     Orders already placed keep their prices. With `If-Match`, only the
         *     version it names is changed (412 otherwise); the answer carries the new `ETag`.
         */
        patch: operations["updateItem"];
        trace?: never;
    };
    "/users/{user_id}/items/{item_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read one of a user's items
         * @description The guide's path-and-query example. 404 unless the item belongs to that
         *     user and, when `q` is given, matches it (name or description,
         *     case-insensitively). `short=true` leaves out the description.
         */
        get: operations["getUserItem"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List orders
         * @description Your own orders, newest first. Admins see everyone's and may filter by `user_id`; anyone else filtering on another user gets 403.
         */
        get: operations["listOrders"];
        put?: never;
        /**
         * Place an order
         * @description The caller is the buyer (the guide takes `user_id` from the body, which
         *     lets anyone order as anyone). Prices and tax rates are copied from the
         *     catalogue into the order's lines in one transaction; an unknown item is
         *     a 422 on that line and nothing is written. `total` is
         *     Σ price × (1 + tax) × quantity, rounded half-up to cents.
         *
         *     Send an `Idempotency-Key` to retry safely: a retry with the same key and
         *     body answers the first response (with `Idempotent-Replayed: true`)
         *     without placing a second order; the same key with another body is 409.
         */
        post: operations["createOrder"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders/{order_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read an order with its lines
         * @description The buyer or an admin; anyone else gets 404.
         */
        get: operations["getOrder"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ws/{client_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Open the echo and broadcast WebSocket
         * @description The guide's first WebSocket: upgrade this request (`Connection: Upgrade`,
         *     `Upgrade: websocket`). Every text frame the client sends is echoed back to
         *     it as `Message text was: <text>` and broadcast to every client connected
         *     to any `/ws/{client_id}` on any server process as
         *     `Client #<client_id> says: <text>`; when the client disconnects, the others
         *     get `Client #<client_id> left the chat`.
         *
         *     Client frames are text matching `EchoText`; server frames are text
         *     matching `EchoServerText`, or an `ErrorFrame` (JSON) when a client frame is
         *     refused (binary, too long, too fast); the connection stays open. A frame
         *     over the server's `maxPayload` (64 KiB by default) closes it with 1009.
         *     The frame schemas are in `asyncapi.yaml`.
         *
         *     The upgrade is authenticated before the handshake: a bearer token in
         *     `Authorization`, or in the `access_token` query parameter for browsers,
         *     which cannot set headers on a WebSocket. Refusals are ordinary HTTP
         *     answers (problem+json) and no socket is opened. A plain GET without the
         *     upgrade headers is answered 426.
         *
         *     The socket does not outlive its credentials: it is closed with 4401 at
         *     the token's `exp` (reason `Token expired`), and at the next heartbeat
         *     after the account is deleted or deactivated; connect again with a new token.
         */
        get: operations["connectEcho"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ws/chat/{room}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Join a chat room over WebSocket
         * @description Upgrade this request to join `room`. The client sends `ChatClientFrame`
         *     JSON text frames (`{"type": "message", "text": "..."}`); the server
         *     stamps each message with `id`, `user_id`, `room` and `sent_at`, stores it
         *     (see `listRoomMessages`) and sends it as a `ChatMessageFrame` to every
         *     member of the room on every server process, the sender included.
         *     Members also get a `PresenceFrame` when someone joins or leaves; in a
         *     room of 100 members or more (`WS_PRESENCE_ROOM_LIMIT`, counted on the
         *     server process holding the connection) the joins and leaves of up to a
         *     second come together in one `PresenceSummaryFrame` instead.
         *
         *     An invalid frame (not JSON, wrong shape, text too long, binary, sent
         *     faster than the rate limit) is answered with an `ErrorFrame` and the
         *     connection stays open; a frame over `maxPayload` (64 KiB by default)
         *     closes it with 1009. The server pings every 30 s and drops a client that
         *     missed the previous pong; a client that does not read its frames is
         *     closed with 1013; a server shutting down closes with 1001; expired
         *     credentials close it with 4401, as for `connectEcho`.
         *
         *     Authentication, refusals and the 426 for a plain GET are as for
         *     `connectEcho`. The frame schemas are in `asyncapi.yaml`.
         */
        get: operations["connectChat"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/rooms/{room}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read a chat room's history
         * @description The messages stored for `room`, newest first, paged. Any signed-in caller may read any room, as any signed-in caller may join it.
         */
        get: operations["listRoomMessages"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{user_id}/activity": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List an account's activity
         * @description The activity log of an account, newest first: `user_created`, `login`,
         *     `order_placed`, `file_uploaded`. Entries are written by background
         *     jobs enqueued in the same transaction as the write they describe, so
         *     one may appear a moment after its cause (at the next worker poll).
         *     Your own account, or any account for an admin; anyone else gets 404.
         */
        get: operations["listUserActivity"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/fetch-multiple": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Fetch several URLs in parallel
         * @description The guide's parallel fetch, made safe. The URLs are fetched at once
         *     (a few at a time, `FETCH_CONCURRENCY`), each with its own timeout, and
         *     the answer lists one result per URL **in the order sent**. A URL that
         *     is slow or fails gets `error` (a timeout is `"Request timeout"`, as in
         *     the guide) and never fails the others.
         *
         *     Only hosts listed in the server's `FETCH_ALLOWED_HOSTS` are fetched;
         *     the address a host resolves to is checked when connecting, and
         *     loopback, private, link-local, metadata and other special ranges are
         *     refused unless `FETCH_ALLOWED_CIDRS` allows them. A refused URL gets
         *     `error` without any connection being made. Redirects are not
         *     followed: a 3xx is reported with its `status` and an `error`. A body
         *     larger than `FETCH_MAX_BYTES` is an error for that URL. JSON bodies
         *     are returned parsed, others as text.
         */
        post: operations["fetchMultiple"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/upload": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload one file
         * @description `multipart/form-data` with one part `file` and an optional `description`
         *     field. The bytes stream straight to storage (never whole in memory)
         *     under a name the server chooses; the client's filename is kept as
         *     metadata only, with path separators and control characters removed.
         *     The real type is sniffed from the first bytes and must be one of the
         *     types in `encoding.file.contentType` (otherwise 415); a file larger than
         *     `x-max-file-size` or the server's `UPLOAD_MAX_FILE_BYTES` is 413. The
         *     metadata row is committed only after the bytes are durably stored; a
         *     failed or aborted upload leaves nothing behind.
         */
        post: operations["uploadFile"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/upload-multiple": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload several files at once
         * @description `multipart/form-data` with 1 to 10 parts named `files`. All or nothing:
         *     every file is stored and recorded, or (on any bad part, limit or abort)
         *     none is. The same rules as `uploadFile` apply to each part.
         */
        post: operations["uploadFiles"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List your files
         * @description Your own files, newest first.
         */
        get: operations["listFiles"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/download/{file_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Download a file
         * @description Streams the bytes. `Content-Type` is the sniffed type (with
         *     `X-Content-Type-Options: nosniff`), `Content-Disposition` is always
         *     `attachment` with the filename as an RFC 6266 / RFC 8187 `filename*`
         *     and an ASCII fallback. `ETag` is the SHA-256 of the bytes:
         *     `If-None-Match` with it answers 304. A single byte range
         *     (`Range: bytes=a-b`, `a-` or `-n`) answers 206, an unsatisfiable one
         *     416; several ranges are answered with the whole file (200). The owner
         *     or an admin only; anyone else gets 404.
         */
        get: operations["downloadFile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files/{file_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a file
         * @description Removes the record and then the stored bytes. The owner or an admin only; anyone else gets 404.
         */
        delete: operations["deleteFile"];
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
            type: components["schemas"]["ProblemType"];
            /**
             * @description A short summary of the kind of problem; the same for every occurrence of its `type`.
             * @example Resource not found
             */
            title: string;
            /**
             * @description The HTTP status code, repeated for convenience.
             * @example 404
             */
            status: number;
            /**
             * @description What went wrong in this occurrence, for a human. Cut to 300 characters (ending in `…`) where it quotes the request.
             * @example No operation matches GET /nope.
             */
            detail?: string;
            /**
             * Format: uri-reference
             * @description The path of the request that failed; a longer one is cut to 300 characters, ending in `...`.
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
        /** @description A problem document for a request that failed validation, with one entry per violation, up to 20. Violations past the twentieth are only counted, in `errors_omitted`, so a body built to fail many times gets a short answer. */
        ValidationProblem: {
            /** @constant */
            type: "/problems/validation-failed";
            /** @constant */
            title: "Validation failed";
            /** @constant */
            status: 422;
            /** @description One entry per violation, the first 20 found. */
            errors: components["schemas"]["ValidationError"][];
            /**
             * Format: int64
             * @description How many more violations were found than `errors` lists; absent when it lists them all.
             * @example 87
             */
            errors_omitted?: number;
        } & WithRequired<components["schemas"]["ProblemFields"], "type" | "title" | "status">;
        /**
         * Format: uri-reference
         * @description The catalogue of problem types. Every problem this server sends has one of these as its `type`, the entry's `title` as its `title` and the entry's `x-status` as its `status`; clients branch on `type`. Each URI is relative to the server, which answers it with the entry's documentation (`GET /problems/{slug}`).
         * @example /problems/not-found
         */
        ProblemType: string & ("/problems/malformed-body" | "/problems/malformed-path" | "/problems/invalid-upgrade" | "/problems/unauthorized" | "/problems/login-failed" | "/problems/forbidden" | "/problems/not-found" | "/problems/route-not-found" | "/problems/method-not-allowed" | "/problems/email-taken" | "/problems/username-taken" | "/problems/idempotency-key-reused" | "/problems/operation-retired" | "/problems/precondition-failed" | "/problems/content-too-large" | "/problems/unsupported-media-type" | "/problems/range-not-satisfiable" | "/problems/validation-failed" | "/problems/upgrade-required" | "/problems/precondition-required" | "/problems/rate-limited" | "/problems/login-throttled" | "/problems/too-many-connections" | "/problems/internal-error" | "/problems/service-starting" | "/problems/shutting-down" | "/problems/database-unavailable" | "/problems/handler-timeout");
        /** @description A problem of type `/problems/malformed-body` (400 Malformed request body). */
        MalformedBodyProblem: {
            /** @constant */
            type: "/problems/malformed-body";
            /** @constant */
            title: "Malformed request body";
            /** @constant */
            status: 400;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/invalid-upgrade` (400 Invalid WebSocket upgrade). */
        InvalidUpgradeProblem: {
            /** @constant */
            type: "/problems/invalid-upgrade";
            /** @constant */
            title: "Invalid WebSocket upgrade";
            /** @constant */
            status: 400;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/unauthorized` (401 Authentication required). */
        UnauthorizedProblem: {
            /** @constant */
            type: "/problems/unauthorized";
            /** @constant */
            title: "Authentication required";
            /** @constant */
            status: 401;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/login-failed` (401 Incorrect email or password). */
        LoginFailedProblem: {
            /** @constant */
            type: "/problems/login-failed";
            /** @constant */
            title: "Incorrect email or password";
            /** @constant */
            status: 401;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/forbidden` (403 Forbidden). */
        ForbiddenProblem: {
            /** @constant */
            type: "/problems/forbidden";
            /** @constant */
            title: "Forbidden";
            /** @constant */
            status: 403;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/not-found` (404 Resource not found). */
        NotFoundProblem: {
            /** @constant */
            type: "/problems/not-found";
            /** @constant */
            title: "Resource not found";
            /** @constant */
            status: 404;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/email-taken` (409 Email already registered). */
        EmailTakenProblem: {
            /** @constant */
            type: "/problems/email-taken";
            /** @constant */
            title: "Email already registered";
            /** @constant */
            status: 409;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/username-taken` (409 Username already taken). */
        UsernameTakenProblem: {
            /** @constant */
            type: "/problems/username-taken";
            /** @constant */
            title: "Username already taken";
            /** @constant */
            status: 409;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/idempotency-key-reused` (409 Idempotency-Key reused). */
        IdempotencyKeyReusedProblem: {
            /** @constant */
            type: "/problems/idempotency-key-reused";
            /** @constant */
            title: "Idempotency-Key reused";
            /** @constant */
            status: 409;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/precondition-failed` (412 Precondition failed). */
        PreconditionFailedProblem: {
            /** @constant */
            type: "/problems/precondition-failed";
            /** @constant */
            title: "Precondition failed";
            /** @constant */
            status: 412;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/content-too-large` (413 Content too large). */
        ContentTooLargeProblem: {
            /** @constant */
            type: "/problems/content-too-large";
            /** @constant */
            title: "Content too large";
            /** @constant */
            status: 413;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/unsupported-media-type` (415 Unsupported media type). */
        UnsupportedMediaTypeProblem: {
            /** @constant */
            type: "/problems/unsupported-media-type";
            /** @constant */
            title: "Unsupported media type";
            /** @constant */
            status: 415;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/range-not-satisfiable` (416 Range not satisfiable). */
        RangeNotSatisfiableProblem: {
            /** @constant */
            type: "/problems/range-not-satisfiable";
            /** @constant */
            title: "Range not satisfiable";
            /** @constant */
            status: 416;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/upgrade-required` (426 Upgrade required). */
        UpgradeRequiredProblem: {
            /** @constant */
            type: "/problems/upgrade-required";
            /** @constant */
            title: "Upgrade required";
            /** @constant */
            status: 426;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/precondition-required` (428 Precondition required). */
        PreconditionRequiredProblem: {
            /** @constant */
            type: "/problems/precondition-required";
            /** @constant */
            title: "Precondition required";
            /** @constant */
            status: 428;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/rate-limited` (429 Rate limit exceeded). */
        RateLimitedProblem: {
            /** @constant */
            type: "/problems/rate-limited";
            /** @constant */
            title: "Rate limit exceeded";
            /** @constant */
            status: 429;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/login-throttled` (429 Too many failed logins). */
        LoginThrottledProblem: {
            /** @constant */
            type: "/problems/login-throttled";
            /** @constant */
            title: "Too many failed logins";
            /** @constant */
            status: 429;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/too-many-connections` (429 Too many WebSocket connections). */
        TooManyConnectionsProblem: {
            /** @constant */
            type: "/problems/too-many-connections";
            /** @constant */
            title: "Too many WebSocket connections";
            /** @constant */
            status: 429;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/internal-error` (500 Internal server error). */
        InternalErrorProblem: {
            /** @constant */
            type: "/problems/internal-error";
            /** @constant */
            title: "Internal server error";
            /** @constant */
            status: 500;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/service-starting` (503 Service starting). */
        ServiceStartingProblem: {
            /** @constant */
            type: "/problems/service-starting";
            /** @constant */
            title: "Service starting";
            /** @constant */
            status: 503;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/shutting-down` (503 Service shutting down). */
        ShuttingDownProblem: {
            /** @constant */
            type: "/problems/shutting-down";
            /** @constant */
            title: "Service shutting down";
            /** @constant */
            status: 503;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/database-unavailable` (503 Database unavailable). */
        DatabaseUnavailableProblem: {
            /** @constant */
            type: "/problems/database-unavailable";
            /** @constant */
            title: "Database unavailable";
            /** @constant */
            status: 503;
        } & components["schemas"]["Problem"];
        /** @description A problem of type `/problems/handler-timeout` (503 Request timed out). */
        HandlerTimeoutProblem: {
            /** @constant */
            type: "/problems/handler-timeout";
            /** @constant */
            title: "Request timed out";
            /** @constant */
            status: 503;
        } & components["schemas"]["Problem"];
        /** @description One violation of the request's schema. */
        ValidationError: {
            /**
             * @description Which part of the request is wrong.
             * @example query
             * @enum {string}
             */
            in: "body" | "query" | "path" | "header" | "cookie";
            /**
             * @description A JSON Pointer to the offending value inside that part; for parameters it starts with the parameter's name. A pointer longer than 200 characters is cut and ends in `…`.
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
        /**
         * @description What an account may do. `guest` reads, `user` also creates, `admin` may do anything.
         * @example user
         * @enum {string}
         */
        UserRole: "admin" | "user" | "guest";
        /**
         * Format: email
         * @description An email address; stored and compared case-insensitively.
         * @example ada@example.com
         */
        Email: string;
        /**
         * Format: password
         * @description 8 to 100 characters with at least one digit and one uppercase letter.
         * @example Secret123
         */
        Password: string;
        /**
         * @description 3 to 20 letters, digits or underscores.
         * @example ada_l
         */
        Username: string;
        /**
         * @description An E.164-style phone number.
         * @example +15551234567
         */
        Phone: string;
        /**
         * @description The person's name.
         * @example Ada Lovelace
         */
        FullName: string;
        /**
         * @description Age in years.
         * @example 36
         */
        Age: number;
        /** @description An account as the API shows it; never its password or hash. */
        User: {
            /**
             * Format: int64
             * @description The account's id.
             * @example 1
             */
            id: number;
            email: components["schemas"]["Email"];
            full_name: components["schemas"]["FullName"];
            /** @description Age in years, when given. */
            age: components["schemas"]["Age"] | null;
            /** @description The username, when given. */
            username: components["schemas"]["Username"] | null;
            /** @description The phone number, when given. */
            phone: components["schemas"]["Phone"] | null;
            role: components["schemas"]["UserRole"];
            /**
             * @description False when an admin has deactivated the account; it can then not log in.
             * @example true
             */
            is_active: boolean;
            /**
             * Format: date-time
             * @description When the account was created (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            created_at: string;
        };
        /** @description Sign-up data (the guide's UserCreate). */
        UserCreate: {
            email: components["schemas"]["Email"];
            full_name: components["schemas"]["FullName"];
            age: components["schemas"]["Age"];
            password: components["schemas"]["Password"];
            username?: components["schemas"]["Username"];
            phone?: components["schemas"]["Phone"];
        };
        /** @description The guide's registration form. */
        UserRegistration: {
            username: components["schemas"]["Username"];
            email: components["schemas"]["Email"];
            password: components["schemas"]["Password"];
            /**
             * Format: password
             * @description The password again; must equal `password`.
             * @example Secret123
             */
            confirm_password: string;
            phone?: components["schemas"]["Phone"];
        };
        /** @description The fields to change; the others stay as they are. `role` and `is_active` are for admins. */
        UserUpdate: {
            email?: components["schemas"]["Email"];
            full_name?: components["schemas"]["FullName"];
            age?: components["schemas"]["Age"];
            username?: components["schemas"]["Username"];
            phone?: components["schemas"]["Phone"];
            role?: components["schemas"]["UserRole"];
            /**
             * @description Set false to stop the account from logging in; its tokens stop working at once.
             * @example false
             */
            is_active?: boolean;
        };
        /** @description One page of users. */
        UserPage: {
            /** @description The users on this page. */
            items: components["schemas"]["User"][];
        } & components["schemas"]["PageMeta"];
        /** @description The OAuth2 password grant (RFC 6749, section 4.3.2). */
        LoginForm: {
            /**
             * @description Always `password` when sent.
             * @example password
             * @constant
             */
            grant_type?: "password";
            /**
             * @description The account's email.
             * @example ada@example.com
             */
            username: string;
            /**
             * Format: password
             * @description The account's password.
             * @example Secret123
             */
            password: string;
            /**
             * @description Ignored; roles come from the account.
             * @example
             */
            scope?: string;
            /**
             * @description Ignored.
             * @example swagger-ui
             */
            client_id?: string;
            /**
             * @description Ignored.
             * @example
             */
            client_secret?: string;
        };
        /** @description An OAuth2 bearer token response. */
        Token: {
            /**
             * @description A JWT to send as `Authorization: Bearer <access_token>`.
             * @example eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl
             */
            access_token: string;
            /**
             * @description Always `bearer`.
             * @example bearer
             * @constant
             */
            token_type: "bearer";
            /**
             * @description Seconds until the token expires.
             * @example 1800
             */
            expires_in: number;
        };
        /**
         * @description An amount in the shop's currency, exact to the cent.
         * @example 59.9
         */
        Money: number;
        /**
         * @description A tax rate as a fraction (0.1 is 10 %), at most four decimals.
         * @example 0.1
         */
        TaxRate: number;
        /**
         * @description The item's name.
         * @example Keyboard
         */
        ItemName: string;
        /**
         * @description What the item is.
         * @example A mechanical keyboard
         */
        ItemDescription: string;
        /** @description An item of the catalogue. */
        Item: {
            /**
             * Format: int64
             * @description The item's id.
             * @example 1
             */
            id: number;
            /**
             * Format: int64
             * @description The id of the user who sells it.
             * @example 1
             */
            owner_id: number;
            name: components["schemas"]["ItemName"];
            /** @description What the item is, when given. */
            description: components["schemas"]["ItemDescription"] | null;
            price: components["schemas"]["Money"];
            /** @description The tax rate, when the item is taxed. */
            tax: components["schemas"]["TaxRate"] | null;
            /**
             * Format: date-time
             * @description When it was put on sale (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When it last changed (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            updated_at: string;
        };
        /** @description An item without its description (`short=true`). */
        ItemShort: {
            /**
             * Format: int64
             * @description The item's id.
             * @example 1
             */
            id: number;
            /**
             * Format: int64
             * @description The id of the user who sells it.
             * @example 1
             */
            owner_id: number;
            name: components["schemas"]["ItemName"];
            price: components["schemas"]["Money"];
            /** @description The tax rate, when the item is taxed. */
            tax: components["schemas"]["TaxRate"] | null;
            /**
             * Format: date-time
             * @description When it was put on sale (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When it last changed (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            updated_at: string;
        };
        /** @description A new item (the guide's Item). */
        ItemCreate: {
            name: components["schemas"]["ItemName"];
            description?: components["schemas"]["ItemDescription"];
            price: components["schemas"]["Money"];
            tax?: components["schemas"]["TaxRate"];
        };
        /** @description The fields to change; `null` clears `description` or `tax`. */
        ItemUpdate: {
            name?: components["schemas"]["ItemName"];
            /** @description A new description, or null to remove it. */
            description?: components["schemas"]["ItemDescription"] | null;
            price?: components["schemas"]["Money"];
            /** @description A new tax rate, or null for none. */
            tax?: components["schemas"]["TaxRate"] | null;
        };
        /** @description One page of items. */
        ItemPage: {
            /** @description The items on this page. */
            items: components["schemas"]["Item"][];
        } & components["schemas"]["PageMeta"];
        /** @description One line of a new order. */
        OrderLineInput: {
            /**
             * Format: int64
             * @description The catalogue item to buy.
             * @example 1
             */
            item_id: number;
            /**
             * @description How many.
             * @example 2
             */
            quantity: number;
        };
        /** @description A new order; the buyer is the caller. */
        OrderCreate: {
            /** @description The lines, 1 to 100. */
            items: components["schemas"]["OrderLineInput"][];
            /**
             * @description Where to ship.
             * @example 1 Analytical Way, London
             */
            shipping_address: string;
        };
        /** @description A line of an order, with the price and tax copied from the catalogue when it was placed. */
        OrderLine: {
            /**
             * @description The catalogue item, or null once it has been deleted.
             * @example 1
             */
            item_id: number | null;
            name: components["schemas"]["ItemName"];
            unit_price: components["schemas"]["Money"];
            /** @description The tax rate at the time of the order. */
            tax: components["schemas"]["TaxRate"] | null;
            /**
             * @description How many.
             * @example 2
             */
            quantity: number;
            /**
             * @description unit_price × (1 + tax) × quantity, rounded half-up to cents.
             * @example 131.78
             */
            line_total: number;
        };
        /** @description An order with its lines. */
        Order: {
            /**
             * Format: int64
             * @description The order's id.
             * @example 1
             */
            id: number;
            /**
             * Format: int64
             * @description The buyer.
             * @example 1
             */
            user_id: number;
            /**
             * @description Where to ship.
             * @example 1 Analytical Way, London
             */
            shipping_address: string;
            /**
             * @description Σ unit_price × (1 + tax) × quantity over the lines, rounded half-up to cents.
             * @example 131.78
             */
            total: number;
            /**
             * Format: date-time
             * @description When it was placed (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            created_at: string;
            /** @description The lines, in the order they were sent. */
            lines: components["schemas"]["OrderLine"][];
        };
        /** @description An order without its lines. */
        OrderSummary: {
            /**
             * Format: int64
             * @description The order's id.
             * @example 1
             */
            id: number;
            /**
             * Format: int64
             * @description The buyer.
             * @example 1
             */
            user_id: number;
            /**
             * @description Where to ship.
             * @example 1 Analytical Way, London
             */
            shipping_address: string;
            /**
             * @description The order's total.
             * @example 131.78
             */
            total: number;
            /**
             * @description How many lines it has.
             * @example 1
             */
            line_count: number;
            /**
             * Format: date-time
             * @description When it was placed (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            created_at: string;
        };
        /** @description One page of orders. */
        OrderPage: {
            /** @description The orders on this page. */
            items: components["schemas"]["OrderSummary"][];
        } & components["schemas"]["PageMeta"];
        /**
         * @description The next page (RFC 8288): `<URL>; rel="next"`, the URL relative to this server, with the same path, filters and `limit` and the page's `next_cursor`.
         * @example </items?limit=10&cursor=WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ>; rel="next"
         */
        NextPageLink: string;
        /** @description The paging envelope that every list answer shares; each list adds its own `items`. */
        PageMeta: {
            /**
             * @description How many entries match, over all pages, counted up to 10,000; when more match, this is 10,000 and `total_capped` is true.
             * @example 42
             */
            total: number;
            /**
             * @description True when more than 10,000 entries match, so `total` is a lower bound.
             * @example false
             */
            total_capped: boolean;
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
            /**
             * @description The `cursor` that fetches the page after this one (with the same path, filters and `limit`), or null on the last page.
             * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
             */
            next_cursor: string | null;
        };
        /**
         * @description A chat room's name, 1..64 letters, digits, `_` or `-`.
         * @example general
         */
        RoomName: string;
        /**
         * @description A chat message's text, 1..2000 characters, without NUL (U+0000, which PostgreSQL text cannot hold).
         * @example Hello, everyone
         */
        ChatText: string;
        /** @description A chat message as stored, stamped by the server. */
        ChatMessage: {
            /**
             * Format: int64
             * @description The message's id, increasing over time.
             * @example 1
             */
            id: number;
            room: components["schemas"]["RoomName"];
            /**
             * Format: int64
             * @description Who sent it.
             * @example 1
             */
            user_id: number;
            text: components["schemas"]["ChatText"];
            /**
             * Format: date-time
             * @description When the server received it (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            sent_at: string;
        };
        /** @description One page of a room's messages. */
        ChatMessagePage: {
            /** @description The messages on this page, newest first. */
            items: components["schemas"]["ChatMessage"][];
        } & components["schemas"]["PageMeta"];
        /**
         * @description A client text frame on `/ws/{client_id}`: any text up to 1000 characters (a longer one gets an `ErrorFrame`).
         * @example hello
         */
        EchoText: string;
        /**
         * @description A server text frame on `/ws/{client_id}`: `Message text was: <text>` to the sender, `Client #<id> says: <text>` and `Client #<id> left the chat` to everyone.
         * @example Client #42 says: hello
         */
        EchoServerText: string;
        /** @description A server frame on `/ws/{client_id}`; an `ErrorFrame` only answers a refused client frame. */
        EchoServerFrame: components["schemas"]["EchoServerText"] | components["schemas"]["ErrorFrame"];
        /** @description A client frame on `/ws/chat/{room}`, sent as JSON text. */
        ChatClientFrame: {
            /**
             * @description The frame's kind; `message` is the only one a client sends.
             * @example message
             * @constant
             */
            type: "message";
            text: components["schemas"]["ChatText"];
        };
        /** @description A message said in the room (the sender gets its own too, as its acknowledgement). */
        ChatMessageFrame: {
            /**
             * @description The frame's kind.
             * @example message
             * @constant
             */
            type: "message";
            message: components["schemas"]["ChatMessage"];
        };
        /** @description Someone joined or left the room (a user with two connections joins twice). Sent at once, in rooms with fewer members than the server's presence limit (100 by default); larger rooms get a `PresenceSummaryFrame` instead. */
        PresenceFrame: {
            /**
             * @description Whether the user joined or left.
             * @example join
             * @enum {string}
             */
            type: "join" | "leave";
            room: components["schemas"]["RoomName"];
            /**
             * Format: int64
             * @description Who joined or left.
             * @example 1
             */
            user_id: number;
            /**
             * Format: date-time
             * @description When (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            at: string;
        };
        /**
         * @description Joins and leaves in a large room (as many members as the server's presence
         *     limit, 100 by default, or more), gathered for up to a second and sent in
         *     one frame, instead of one frame per join or leave to every member (which
         *     grows with the square of the room's size). Sent only when someone joined
         *     or left.
         */
        PresenceSummaryFrame: {
            /**
             * @description The frame's kind.
             * @example presence
             * @constant
             */
            type: "presence";
            room: components["schemas"]["RoomName"];
            /**
             * @description Who joined during the period, each once, in order of joining; at most 100 (`joined_count` tells how many joins there were).
             * @example [
             *       7,
             *       12
             *     ]
             */
            joined: number[];
            /**
             * @description Who left during the period, each once, in order of leaving; at most 100.
             * @example [
             *       3
             *     ]
             */
            left: number[];
            /**
             * @description Connections that joined during the period (a user with two connections counts twice).
             * @example 2
             */
            joined_count: number;
            /**
             * @description Connections that left during the period.
             * @example 1
             */
            left_count: number;
            /**
             * Format: date-time
             * @description The end of the period (UTC).
             * @example 2026-11-28T09:30:01Z
             */
            at: string;
        };
        /** @description The server refused a client frame; the connection stays open. */
        ErrorFrame: {
            /**
             * @description The frame's kind.
             * @example error
             * @constant
             */
            type: "error";
            /**
             * @description What was wrong, for a program.
             * @example invalid_frame
             * @enum {string}
             */
            code: "invalid_json" | "invalid_frame" | "binary_not_supported" | "rate_limited" | "internal_error";
            /**
             * @description What was wrong, for a human.
             * @example The frame has 1 validation error.
             */
            detail: string;
            /** @description One entry per violation of the client frame's schema (`invalid_frame` only), the first 20 found. */
            errors?: components["schemas"]["FrameError"][];
        };
        /** @description One violation of a client frame's schema. */
        FrameError: {
            /**
             * @description A JSON Pointer into the frame.
             * @example /text
             */
            path: string;
            /**
             * @description What is wrong, for a human.
             * @example must NOT have more than 2000 characters
             */
            message: string;
            /**
             * @description The JSON Schema keyword that failed.
             * @example maxLength
             */
            keyword: string;
        };
        /** @description A server frame on `/ws/chat/{room}`, sent as JSON text; `type` tells which. */
        ChatServerFrame: components["schemas"]["ChatMessageFrame"] | components["schemas"]["PresenceFrame"] | components["schemas"]["PresenceSummaryFrame"] | components["schemas"]["ErrorFrame"];
        /** @description One entry of an account's activity log; `kind` tells what happened and which `details` come with it. */
        Activity: components["schemas"]["UserCreatedActivity"] | components["schemas"]["LoginActivity"] | components["schemas"]["OrderPlacedActivity"] | components["schemas"]["FileUploadedActivity"];
        /**
         * Format: int64
         * @description The entry's id.
         * @example 1
         */
        ActivityId: number;
        /**
         * Format: date-time
         * @description When it happened (UTC), which may be a moment before the entry was written.
         * @example 2026-11-28T09:30:00Z
         */
        ActivityTime: string;
        /** @description The account was created. */
        UserCreatedActivity: {
            id: components["schemas"]["ActivityId"];
            /**
             * @description What happened. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            kind: "user_created";
            /**
             * @description Always empty; the entry itself is the fact.
             * @example {}
             */
            details: Record<string, never>;
            occurred_at: components["schemas"]["ActivityTime"];
        };
        /** @description A password log-in. */
        LoginActivity: {
            id: components["schemas"]["ActivityId"];
            /**
             * @description What happened. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            kind: "login";
            /**
             * @description Where the log-in came from.
             * @example {
             *       "ip": "203.0.113.7"
             *     }
             */
            details: {
                /**
                 * @description The client address the server saw (behind a trusted proxy, the forwarded one).
                 * @example 203.0.113.7
                 */
                ip: string;
            };
            occurred_at: components["schemas"]["ActivityTime"];
        };
        /** @description An order was placed. */
        OrderPlacedActivity: {
            id: components["schemas"]["ActivityId"];
            /**
             * @description What happened. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            kind: "order_placed";
            /**
             * @description The order and what it cost.
             * @example {
             *       "order_id": 1,
             *       "total": 131.78
             *     }
             */
            details: {
                /**
                 * Format: int64
                 * @description The order's id (`getOrder`).
                 * @example 1
                 */
                order_id: number;
                /**
                 * @description The order's total, as in `Order.total`.
                 * @example 131.78
                 */
                total: number;
            };
            occurred_at: components["schemas"]["ActivityTime"];
        };
        /** @description A file was uploaded. */
        FileUploadedActivity: {
            id: components["schemas"]["ActivityId"];
            /**
             * @description What happened. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            kind: "file_uploaded";
            /**
             * @description The stored file.
             * @example {
             *       "file_id": 1,
             *       "filename": "hello.txt",
             *       "size": 13
             *     }
             */
            details: {
                /**
                 * Format: int64
                 * @description The file's id (`downloadFile`).
                 * @example 1
                 */
                file_id: number;
                /**
                 * @description The filename the client gave (metadata only).
                 * @example hello.txt
                 */
                filename: string;
                /**
                 * Format: int64
                 * @description Its size in bytes.
                 * @example 13
                 */
                size: number;
            };
            occurred_at: components["schemas"]["ActivityTime"];
        };
        /** @description One page of activity. */
        ActivityPage: {
            /** @description The entries on this page, newest first. */
            items: components["schemas"]["Activity"][];
        } & components["schemas"]["PageMeta"];
        /**
         * Format: uri
         * @description An absolute `http` or `https` URL; other schemes are refused.
         * @example https://api.example.com/a
         */
        FetchUrl: string;
        /** @description URLs to fetch in parallel. */
        FetchRequest: {
            /** @description One to ten URLs; the same URL twice is fetched twice. */
            urls: components["schemas"]["FetchUrl"][];
            /**
             * @description Time allowed for each URL, from connecting to the last byte.
             * @default 5000
             * @example 2000
             */
            timeout_ms: number;
        };
        /** @description What fetching one URL gave. */
        FetchResult: {
            /**
             * @description The URL as sent.
             * @example https://api.example.com/a
             */
            url: string;
            /**
             * @description True when a 2xx response was read in full.
             * @example true
             */
            ok: boolean;
            /**
             * @description The response's status, when one arrived.
             * @example 200
             */
            status?: number;
            /**
             * @description The body, parsed when it is JSON, as text otherwise; absent on error.
             * @example {
             *       "hello": "world"
             *     }
             */
            data?: unknown;
            /**
             * @description Why there is no usable body: `Request timeout`, `Host not allowed`, `Address not allowed`, `Response too large`, `Response nested too deeply`, `Response is not valid JSON`, `Response cannot be represented`, `Redirect not followed`, or a connection error.
             * @example Request timeout
             */
            error?: string;
            /**
             * @description Milliseconds spent on this URL.
             * @example 84
             */
            elapsed_ms: number;
        };
        /** @description One result per URL, in the order sent. */
        FetchResponse: {
            /** @description The results, in the order of `urls`. */
            results: components["schemas"]["FetchResult"][];
        };
        /** @description The form of `uploadFile`: one file and an optional description. */
        FileUpload: {
            /**
             * Format: binary
             * @description The file. Its part's filename becomes the stored filename (metadata only).
             * @example Hello, world!
             */
            file: string;
            /**
             * @description A note about the file.
             * @example A greeting
             */
            description?: string;
        };
        /** @description The form of `uploadFiles`: 1 to 10 files in parts named `files`. */
        FilesUpload: {
            /** @description The files, one part each. */
            files: string[];
        };
        /**
         * Format: binary
         * @description A file's bytes, as stored; the answer's `Content-Type` is the sniffed type. `format: binary` is for OpenAPI 3.0 readers and `contentMediaType` for 3.1 ones: client generators read the body as a Blob.
         * @example Hello, world!
         */
        FileBytes: string;
        /** @description A stored file's metadata. */
        StoredFile: {
            /**
             * Format: int64
             * @description The file's id.
             * @example 1
             */
            id: number;
            /**
             * Format: int64
             * @description The user who uploaded it.
             * @example 1
             */
            owner_id: number;
            /**
             * @description The client's filename, normalised (no path, no control characters); metadata only.
             * @example hello.txt
             */
            filename: string;
            /**
             * @description The type sniffed from the first bytes, or the declared one when the bytes have no signature.
             * @example text/plain
             */
            content_type: string;
            /**
             * @description The type the client declared for the part.
             * @example text/plain
             */
            declared_content_type: string;
            /**
             * @description Size in bytes.
             * @example 13
             */
            size: number;
            /**
             * @description SHA-256 of the bytes, hex; also the download's ETag.
             * @example 315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3
             */
            sha256: string;
            /** @description The note sent with the file, if any. */
            description: string | null;
            /**
             * Format: date-time
             * @description When it was uploaded (UTC).
             * @example 2026-11-28T09:30:00Z
             */
            created_at: string;
        };
        /** @description The files stored by one `uploadFiles` call, in part order. */
        StoredFiles: {
            /** @description One entry per part. */
            uploaded_files: components["schemas"]["StoredFile"][];
        };
        /** @description One page of files. */
        FilePage: {
            /** @description The files on this page. */
            items: components["schemas"]["StoredFile"][];
        } & components["schemas"]["PageMeta"];
    };
    responses: {
        /** @description This Idempotency-Key was already used with a different request. */
        IdempotencyConflict: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["IdempotencyKeyReusedProblem"];
            };
        };
        /** @description Another account already has this email (`/problems/email-taken`) or this username (`/problems/username-taken`); nothing was changed. */
        AccountTaken: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["EmailTakenProblem"] | components["schemas"]["UsernameTakenProblem"];
            };
        };
        /** @description The email and password do not match an active account (the same answer for an unknown email). */
        LoginFailed: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["LoginFailedProblem"];
            };
        };
        /** @description Over the operation's rate-limit policy (`x-rate-limit`); wait `Retry-After` seconds. */
        TooManyRequests: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["RateLimitedProblem"];
            };
        };
        /** @description Too many failed log-ins for this email or from this address (`/problems/login-throttled`), or over the operation's rate-limit policy (`/problems/rate-limited`); wait `Retry-After` seconds. */
        TooManyLogins: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["LoginThrottledProblem"] | components["schemas"]["RateLimitedProblem"];
            };
        };
        /** @description The body could not be parsed (for example malformed JSON). */
        BadRequest: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["MalformedBodyProblem"];
            };
        };
        /** @description No credentials, or credentials that are not valid. */
        Unauthorized: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["UnauthorizedProblem"];
            };
        };
        /** @description The credentials are valid but not allowed to do this. */
        Forbidden: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["ForbiddenProblem"];
            };
        };
        /** @description The resource does not exist, or the caller may not know that it does. */
        NotFound: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["NotFoundProblem"];
            };
        };
        /** @description The item does not exist, or the caller may not know that it does. */
        ItemNotFound: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["NotFoundProblem"];
            };
        };
        /** @description The order does not exist, or the caller may not know that it does. */
        OrderNotFound: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["NotFoundProblem"];
            };
        };
        /** @description The file does not exist, or the caller may not know that it does. */
        FileNotFound: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["NotFoundProblem"];
            };
        };
        /** @description The body is larger than the configured limit. */
        PayloadTooLarge: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["ContentTooLargeProblem"];
            };
        };
        /** @description The body's content type is not one the operation accepts. */
        UnsupportedMediaType: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["UnsupportedMediaTypeProblem"];
            };
        };
        /** @description The request does not match the operation's schema; one entry per violation. */
        ValidationFailed: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
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
                "application/problem+json": components["schemas"]["InternalErrorProblem"];
            };
        };
        /** @description The service cannot answer right now; try again after `Retry-After` seconds when it is given. The database is still opening (start-up), does not answer (outage), the server is shutting down, or the handler ran past the server's time limit; `type` says which. */
        ServiceUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["ServiceStartingProblem"] | components["schemas"]["ShuttingDownProblem"] | components["schemas"]["DatabaseUnavailableProblem"] | components["schemas"]["HandlerTimeoutProblem"];
            };
        };
        /** @description A path parameter is not valid, or the request is not a valid WebSocket upgrade; no socket is opened. */
        BadUpgrade: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["InvalidUpgradeProblem"];
            };
        };
        /** @description A plain request to a WebSocket path; repeat it as a WebSocket upgrade. */
        UpgradeRequired: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                Upgrade: components["headers"]["Upgrade"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["UpgradeRequiredProblem"];
            };
        };
        /** @description The caller already has the most WebSocket connections allowed per user (counted across every server process), or is over the operation's rate-limit policy; close one, or try again later. */
        TooManyConnections: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["TooManyConnectionsProblem"] | components["schemas"]["RateLimitedProblem"];
            };
        };
        /** @description The multipart body could not be parsed (no boundary, broken part headers, cut short). */
        MalformedMultipart: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["MalformedBodyProblem"];
            };
        };
        /** @description The requested range starts beyond the end of the file. */
        RangeNotSatisfiable: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "Content-Range": components["headers"]["ContentRangeUnsatisfied"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["RangeNotSatisfiableProblem"];
            };
        };
        /** @description The client's copy (`If-None-Match`) is current; no body. */
        NotModified: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                ETag: components["headers"]["VersionETag"];
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description The resource is no longer at the version `If-Match` names (someone changed it meanwhile); nothing was changed. Read it again and retry. */
        PreconditionFailed: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["PreconditionFailedProblem"];
            };
        };
        /** @description This server requires `If-Match` on changes to this resource (`IF_MATCH_REQUIRED`); nothing was changed. Read the resource for its `ETag` and send it. */
        PreconditionRequired: {
            headers: {
                "X-Request-ID": components["headers"]["XRequestId"];
                "X-Process-Time": components["headers"]["XProcessTime"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["PreconditionRequiredProblem"];
            };
        };
    };
    parameters: {
        /**
         * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
         * @example 0
         */
        Skip: number;
        /**
         * @description The largest number of entries to return.
         * @example 10
         */
        Limit: number;
        /**
         * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
         * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
         */
        Cursor: string;
        /**
         * @description The account's id.
         * @example 1
         */
        UserId: number;
        /**
         * @description The item's id.
         * @example 1
         */
        ItemId: number;
        /**
         * @description Text to find in the name or description, case-insensitively.
         * @example keyboard
         */
        ItemSearch: string;
        /**
         * @description A unique key per intended order (for example a UUID); retries with it never place a second order. Kept for 24 hours by default.
         * @example 7c9e6679-7425-40de-944b-e07fc1f90ae7
         */
        IdempotencyKey: string;
        /**
         * @description The guide's client number, shown to the others in `Client
         * @example 42
         */
        ClientId: number;
        /**
         * @description The room's name.
         * @example general
         */
        Room: components["schemas"]["RoomName"];
        /**
         * @description The file's id.
         * @example 1
         */
        FileId: number;
        /**
         * @description One byte range (RFC 9110), e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-512`. Several ranges, or a malformed value, are ignored (the whole file is sent).
         * @example bytes=0-1023
         */
        Range: string;
        /**
         * @description ETags of copies the client has (or `*`); when one matches, the answer is 304 without a body.
         * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
         */
        IfNoneMatch: string;
        /**
         * @description The `ETag` of the copy being changed (or `*` for any): the change is made only if the resource is still at that version, 412 otherwise. Weak tags (`W/"3"`) never match.
         * @example "3"
         */
        IfMatch: string;
        /**
         * @description Honour `Range` only if the file still has this ETag; otherwise the whole file is sent.
         * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
         */
        IfRange: string;
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
         * @description The URL of the created resource.
         * @example /users/1
         */
        Location: string;
        /**
         * @description Tokens must not be cached.
         * @example no-store
         */
        CacheControlNoStore: "no-store";
        /**
         * @description `true` when the answer is the stored first response to this `Idempotency-Key`, `false` when the order was placed now.
         * @example false
         */
        IdempotentReplayed: "true" | "false";
        /**
         * @description The client's quota left under the operation's policy (`r`, requests) and the seconds until it refills (`t`), as in draft-ietf-httpapi-ratelimit-headers. Sent once the request has been counted, which happens right after authentication (a call that fails it is counted against its address); answers refused before that (the start-up 503, a refused WebSocket upgrade other than its 429) carry none.
         * @example "default";r=599;t=60
         */
        RateLimit: string;
        /**
         * @description The operation's rate-limit policy: its name, quota (`q`, requests) and window (`w`, seconds), as in draft-ietf-httpapi-ratelimit-headers and `x-rate-limit-policies`.
         * @example "default";q=600;w=60
         */
        RateLimitPolicy: string;
        /**
         * @description Seconds to wait before trying again.
         * @example 30
         */
        RetryAfter: number;
        /**
         * @description The protocol switched to.
         * @example websocket
         */
        Upgrade: "websocket";
        /**
         * @description The handshake's answer to the client's `Sec-WebSocket-Key` (RFC 6455).
         * @example s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
         */
        SecWebSocketAccept: string;
        /**
         * @description The number of bytes in the body.
         * @example 13
         */
        ContentLength: number;
        /**
         * @description Always `attachment`, with the stored filename as an ASCII `filename` fallback and an RFC 8187 `filename*` (UTF-8, percent-encoded).
         * @example attachment; filename="hello.txt"; filename*=UTF-8''hello.txt
         */
        ContentDisposition: string;
        /**
         * @description The SHA-256 of the file's bytes, as a strong entity tag.
         * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
         */
        ETag: string;
        /**
         * @description The version of the resource as a strong entity tag: send it in `If-Match` to change or delete only this version, or in `If-None-Match` to get 304 while it is current.
         * @example "3"
         */
        VersionETag: string;
        /**
         * @description Browsers must not second-guess `Content-Type`.
         * @example nosniff
         */
        XContentTypeOptions: "nosniff";
        /**
         * @description Byte ranges may be requested.
         * @example bytes
         */
        AcceptRanges: "bytes";
        /**
         * @description Only the caller's own cache may keep it, and must revalidate (with `If-None-Match`) before reusing it.
         * @example private, no-cache
         */
        CacheControlPrivate: "private, no-cache";
        /**
         * @description The range sent and the file's full size.
         * @example bytes 0-4/13
         */
        ContentRange: string;
        /**
         * @description The file's full size, so the client can ask again.
         * @example bytes *\/13
         */
        ContentRangeUnsatisfied: string;
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
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
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
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            429: components["responses"]["TooManyRequests"];
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
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            429: components["responses"]["TooManyRequests"];
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
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["LoginForm"];
            };
        };
        responses: {
            /** @description A bearer token for the account. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    "Cache-Control": components["headers"]["CacheControlNoStore"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Token"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["LoginFailed"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyLogins"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listUsers: {
        parameters: {
            query?: {
                /**
                 * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
                 * @example 0
                 */
                skip?: components["parameters"]["Skip"];
                /**
                 * @description The largest number of entries to return.
                 * @example 10
                 */
                limit?: components["parameters"]["Limit"];
                /**
                 * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
                 * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
                 */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of users. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    /** @description The next page, as `<URL>; rel="next"`; absent on the last page. */
                    Link?: components["schemas"]["NextPageLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPage"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserCreate"];
            };
        };
        responses: {
            /** @description The account was created. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            409: components["responses"]["AccountTaken"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    register: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserRegistration"];
            };
        };
        responses: {
            /** @description The account was created. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            409: components["responses"]["AccountTaken"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCurrentUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description ETags of copies the client has (or `*`); when one matches, the answer is 304 without a body.
                 * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
                 */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Your account. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    ETag: components["headers"]["VersionETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            304: components["responses"]["NotModified"];
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description ETags of copies the client has (or `*`); when one matches, the answer is 304 without a body.
                 * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
                 */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /**
                 * @description The account's id.
                 * @example 1
                 */
                user_id: components["parameters"]["UserId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The account. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    ETag: components["headers"]["VersionETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            304: components["responses"]["NotModified"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The `ETag` of the copy being changed (or `*` for any): the change is made only if the resource is still at that version, 412 otherwise. Weak tags (`W/"3"`) never match.
                 * @example "3"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /**
                 * @description The account's id.
                 * @example 1
                 */
                user_id: components["parameters"]["UserId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            412: components["responses"]["PreconditionFailed"];
            422: components["responses"]["ValidationFailed"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The `ETag` of the copy being changed (or `*` for any): the change is made only if the resource is still at that version, 412 otherwise. Weak tags (`W/"3"`) never match.
                 * @example "3"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /**
                 * @description The account's id.
                 * @example 1
                 */
                user_id: components["parameters"]["UserId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUpdate"];
            };
        };
        responses: {
            /** @description The account as it is now. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    ETag: components["headers"]["VersionETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["AccountTaken"];
            412: components["responses"]["PreconditionFailed"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listItems: {
        parameters: {
            query?: {
                /**
                 * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
                 * @example 0
                 */
                skip?: components["parameters"]["Skip"];
                /**
                 * @description The largest number of entries to return.
                 * @example 10
                 */
                limit?: components["parameters"]["Limit"];
                /**
                 * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
                 * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
                 */
                cursor?: components["parameters"]["Cursor"];
                /**
                 * @description Text to find in the name or description, case-insensitively.
                 * @example keyboard
                 */
                q?: components["parameters"]["ItemSearch"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of items. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    /** @description The next page, as `<URL>; rel="next"`; absent on the last page. */
                    Link?: components["schemas"]["NextPageLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ItemPage"];
                };
            };
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createItem: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ItemCreate"];
            };
        };
        responses: {
            /** @description The item was created. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Item"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getItem: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description ETags of copies the client has (or `*`); when one matches, the answer is 304 without a body.
                 * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
                 */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /**
                 * @description The item's id.
                 * @example 1
                 */
                item_id: components["parameters"]["ItemId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The item. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    ETag: components["headers"]["VersionETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Item"];
                };
            };
            304: components["responses"]["NotModified"];
            404: components["responses"]["ItemNotFound"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteItem: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The `ETag` of the copy being changed (or `*` for any): the change is made only if the resource is still at that version, 412 otherwise. Weak tags (`W/"3"`) never match.
                 * @example "3"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /**
                 * @description The item's id.
                 * @example 1
                 */
                item_id: components["parameters"]["ItemId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["ItemNotFound"];
            412: components["responses"]["PreconditionFailed"];
            422: components["responses"]["ValidationFailed"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateItem: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The `ETag` of the copy being changed (or `*` for any): the change is made only if the resource is still at that version, 412 otherwise. Weak tags (`W/"3"`) never match.
                 * @example "3"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /**
                 * @description The item's id.
                 * @example 1
                 */
                item_id: components["parameters"]["ItemId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ItemUpdate"];
            };
        };
        responses: {
            /** @description The item as it is now. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    ETag: components["headers"]["VersionETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Item"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["ItemNotFound"];
            412: components["responses"]["PreconditionFailed"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getUserItem: {
        parameters: {
            query?: {
                /**
                 * @description Only answer when the item matches this text.
                 * @example keyboard
                 */
                q?: string;
                /**
                 * @description Leave out the description.
                 * @example false
                 */
                short?: boolean;
            };
            header?: never;
            path: {
                /**
                 * @description The account's id.
                 * @example 1
                 */
                user_id: components["parameters"]["UserId"];
                /**
                 * @description The item's id.
                 * @example 1
                 */
                item_id: components["parameters"]["ItemId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The item, with or without its description. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Item"] | components["schemas"]["ItemShort"];
                };
            };
            404: components["responses"]["ItemNotFound"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listOrders: {
        parameters: {
            query?: {
                /**
                 * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
                 * @example 0
                 */
                skip?: components["parameters"]["Skip"];
                /**
                 * @description The largest number of entries to return.
                 * @example 10
                 */
                limit?: components["parameters"]["Limit"];
                /**
                 * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
                 * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
                 */
                cursor?: components["parameters"]["Cursor"];
                /**
                 * @description Only this user's orders.
                 * @example 1
                 */
                user_id?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of orders, without their lines. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    /** @description The next page, as `<URL>; rel="next"`; absent on the last page. */
                    Link?: components["schemas"]["NextPageLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderPage"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createOrder: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description A unique key per intended order (for example a UUID); retries with it never place a second order. Kept for 24 hours by default.
                 * @example 7c9e6679-7425-40de-944b-e07fc1f90ae7
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OrderCreate"];
            };
        };
        responses: {
            /** @description The order was placed (or, for a replayed key, had been). */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    Location: components["headers"]["Location"];
                    "Idempotent-Replayed": components["headers"]["IdempotentReplayed"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Order"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["IdempotencyConflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getOrder: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The order's id.
                 * @example 1
                 */
                order_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The order. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Order"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["OrderNotFound"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    connectEcho: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The guide's client number, shown to the others in `Client
                 * @example 42
                 */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The WebSocket handshake succeeded. No body follows; the frames exchanged after the switch are described in `asyncapi.yaml`. */
            101: {
                headers: {
                    Upgrade: components["headers"]["Upgrade"];
                    "Sec-WebSocket-Accept": components["headers"]["SecWebSocketAccept"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadUpgrade"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["ValidationFailed"];
            426: components["responses"]["UpgradeRequired"];
            429: components["responses"]["TooManyConnections"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    connectChat: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's name.
                 * @example general
                 */
                room: components["parameters"]["Room"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The WebSocket handshake succeeded. No body follows; the frames exchanged after the switch are described in `asyncapi.yaml`. */
            101: {
                headers: {
                    Upgrade: components["headers"]["Upgrade"];
                    "Sec-WebSocket-Accept": components["headers"]["SecWebSocketAccept"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadUpgrade"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["ValidationFailed"];
            426: components["responses"]["UpgradeRequired"];
            429: components["responses"]["TooManyConnections"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listRoomMessages: {
        parameters: {
            query?: {
                /**
                 * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
                 * @example 0
                 */
                skip?: components["parameters"]["Skip"];
                /**
                 * @description The largest number of entries to return.
                 * @example 10
                 */
                limit?: components["parameters"]["Limit"];
                /**
                 * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
                 * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
                 */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /**
                 * @description The room's name.
                 * @example general
                 */
                room: components["parameters"]["Room"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the room's messages, newest first. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    /** @description The next page, as `<URL>; rel="next"`; absent on the last page. */
                    Link?: components["schemas"]["NextPageLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChatMessagePage"];
                };
            };
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listUserActivity: {
        parameters: {
            query?: {
                /**
                 * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
                 * @example 0
                 */
                skip?: components["parameters"]["Skip"];
                /**
                 * @description The largest number of entries to return.
                 * @example 10
                 */
                limit?: components["parameters"]["Limit"];
                /**
                 * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
                 * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
                 */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /**
                 * @description The account's id.
                 * @example 1
                 */
                user_id: components["parameters"]["UserId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of activity, newest first. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    /** @description The next page, as `<URL>; rel="next"`; absent on the last page. */
                    Link?: components["schemas"]["NextPageLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActivityPage"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    fetchMultiple: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FetchRequest"];
            };
        };
        responses: {
            /** @description One result per URL, in the order sent. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FetchResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    uploadFile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "file": "Hello, world!",
                 *       "description": "A greeting"
                 *     }
                 */
                "multipart/form-data": components["schemas"]["FileUpload"];
            };
        };
        responses: {
            /** @description The file was stored. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoredFile"];
                };
            };
            400: components["responses"]["MalformedMultipart"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    uploadFiles: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "files": [
                 *         "Hello, world!",
                 *         "Goodbye!"
                 *       ]
                 *     }
                 */
                "multipart/form-data": components["schemas"]["FilesUpload"];
            };
        };
        responses: {
            /** @description Every file was stored. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoredFiles"];
                };
            };
            400: components["responses"]["MalformedMultipart"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listFiles: {
        parameters: {
            query?: {
                /**
                 * @description How many entries to skip from the start of the list (or, with `cursor`, from the cursor's position). At most 10,000: page deeper with `cursor`, whose cost does not grow with depth.
                 * @example 0
                 */
                skip?: components["parameters"]["Skip"];
                /**
                 * @description The largest number of entries to return.
                 * @example 10
                 */
                limit?: components["parameters"]["Limit"];
                /**
                 * @description Continue after the last entry of a previous page: that page's `next_cursor` (also in its `Link: <…>; rel="next"` header). Opaque and signed; it is valid only for the list, path and filters (`q`, `user_id`) it was made for. A malformed, altered or foreign cursor is a 422.
                 * @example WzQyXQ.nPq3yvR0cTQ1b2c0ZmRhYQ
                 */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of your files. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    /** @description The next page, as `<URL>; rel="next"`; absent on the last page. */
                    Link?: components["schemas"]["NextPageLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FilePage"];
                };
            };
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    downloadFile: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description One byte range (RFC 9110), e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-512`. Several ranges, or a malformed value, are ignored (the whole file is sent).
                 * @example bytes=0-1023
                 */
                Range?: components["parameters"]["Range"];
                /**
                 * @description ETags of copies the client has (or `*`); when one matches, the answer is 304 without a body.
                 * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
                 */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /**
                 * @description Honour `Range` only if the file still has this ETag; otherwise the whole file is sent.
                 * @example "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3"
                 */
                "If-Range"?: components["parameters"]["IfRange"];
            };
            path: {
                /**
                 * @description The file's id.
                 * @example 1
                 */
                file_id: components["parameters"]["FileId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The whole file. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    "Content-Length": components["headers"]["ContentLength"];
                    "Content-Disposition": components["headers"]["ContentDisposition"];
                    ETag: components["headers"]["ETag"];
                    "X-Content-Type-Options": components["headers"]["XContentTypeOptions"];
                    "Accept-Ranges": components["headers"]["AcceptRanges"];
                    "Cache-Control": components["headers"]["CacheControlPrivate"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example Hello, world! */
                    "*/*": components["schemas"]["FileBytes"];
                };
            };
            /** @description The requested byte range. */
            206: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    "Content-Length": components["headers"]["ContentLength"];
                    "Content-Range": components["headers"]["ContentRange"];
                    "Content-Disposition": components["headers"]["ContentDisposition"];
                    ETag: components["headers"]["ETag"];
                    "X-Content-Type-Options": components["headers"]["XContentTypeOptions"];
                    "Accept-Ranges": components["headers"]["AcceptRanges"];
                    "Cache-Control": components["headers"]["CacheControlPrivate"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example Hello */
                    "*/*": components["schemas"]["FileBytes"];
                };
            };
            /** @description The client's copy (`If-None-Match`) is current; no body. */
            304: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    ETag: components["headers"]["ETag"];
                    "Cache-Control": components["headers"]["CacheControlPrivate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["FileNotFound"];
            416: components["responses"]["RangeNotSatisfiable"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteFile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The file's id.
                 * @example 1
                 */
                file_id: components["parameters"]["FileId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file is gone. */
            204: {
                headers: {
                    "X-Request-ID": components["headers"]["XRequestId"];
                    "X-Process-Time": components["headers"]["XProcessTime"];
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["FileNotFound"];
            422: components["responses"]["ValidationFailed"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
}
type WithRequired<T, K extends keyof T> = T & {
    [P in K]-?: T[P];
};
