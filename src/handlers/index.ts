/**
 * Every operation of the contract, by operationId. `HandlerMap` makes a missing
 * or misspelt operation a compile error; app.ts hands this map to http/.
 */
import type { HandlerMap } from '../contract/types.js';
import { listUserActivity } from './activity.js';
import { login } from './auth.js';
import { fetchMultiple } from './fetch.js';
import { deleteFile, downloadFile, listFiles, uploadFile, uploadFiles } from './files.js';
import { createItem, deleteItem, getItem, getUserItem, listItems, updateItem } from './items.js';
import { createOrder, getOrder, listOrders } from './orders.js';
import { connectChat, connectEcho, listRoomMessages } from './rooms.js';
import { getHealth, getProtected, getReadiness, getRoot } from './system.js';
import { createUser, deleteUser, getCurrentUser, getUser, listUsers, register, updateUser } from './users.js';

export const handlers: HandlerMap = {
  getRoot,
  getHealth,
  getReadiness,
  getProtected,
  login,
  createUser,
  register,
  getCurrentUser,
  listUsers,
  getUser,
  updateUser,
  deleteUser,
  listItems,
  createItem,
  getItem,
  updateItem,
  deleteItem,
  getUserItem,
  createOrder,
  listOrders,
  getOrder,
  connectEcho,
  connectChat,
  listRoomMessages,
  listUserActivity,
  fetchMultiple,
  uploadFile,
  uploadFiles,
  listFiles,
  downloadFile,
  deleteFile,
};
