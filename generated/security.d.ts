// Generated from openapi.yaml by `npm run gen`. Do not edit.

/** The security schemes of the contract. */
export type securitySchemeName = "OAuth2PasswordBearer" | "ApiKeyHeader" | "ApiKeyQuery" | "AccessTokenQuery";
/** Per operation: the scheme that names the caller in each security alternative, or `anonymous`. */
export interface operationSecurity {
    getRoot: "anonymous";
    getHealth: "anonymous";
    getReadiness: "anonymous";
    getProtected: "ApiKeyHeader" | "ApiKeyQuery";
    login: "anonymous";
    createUser: "anonymous";
    listUsers: "OAuth2PasswordBearer";
    register: "anonymous";
    getCurrentUser: "OAuth2PasswordBearer";
    getUser: "OAuth2PasswordBearer";
    updateUser: "OAuth2PasswordBearer";
    deleteUser: "OAuth2PasswordBearer";
    listItems: "anonymous";
    createItem: "OAuth2PasswordBearer";
    getItem: "anonymous";
    updateItem: "OAuth2PasswordBearer";
    deleteItem: "OAuth2PasswordBearer";
    getUserItem: "anonymous";
    createOrder: "OAuth2PasswordBearer";
    listOrders: "OAuth2PasswordBearer";
    getOrder: "OAuth2PasswordBearer";
    connectEcho: "OAuth2PasswordBearer" | "AccessTokenQuery";
    connectChat: "OAuth2PasswordBearer" | "AccessTokenQuery";
    listRoomMessages: "OAuth2PasswordBearer";
    listUserActivity: "OAuth2PasswordBearer";
    fetchMultiple: "OAuth2PasswordBearer";
    uploadFile: "OAuth2PasswordBearer";
    uploadFiles: "OAuth2PasswordBearer";
    listFiles: "OAuth2PasswordBearer";
    downloadFile: "OAuth2PasswordBearer";
    deleteFile: "OAuth2PasswordBearer";
}
