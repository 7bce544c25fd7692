// The Express app on a local sled store: `npm start`, then http://127.0.0.1:3000/api/...
//   MODELYARD_STORE=sled://./express-data  MODELYARD_JWT_SECRET=...  PORT=3000
import { open } from 'modelyard'

import { createApp } from './app.mjs'

const yard = await open({
  store: process.env.MODELYARD_STORE ?? 'sled://./express-data',
  ...(process.env.MODELYARD_JWT_SECRET ? { jwtSecret: process.env.MODELYARD_JWT_SECRET } : {}),
})
const port = Number(process.env.PORT ?? 3000)
const server = createApp(yard).listen(port, '127.0.0.1', () => {
  console.log(`modelyard express example on http://127.0.0.1:${server.address().port}`)
})
// Ctrl-C: stop taking requests, let the workers put a run in flight back on the queue, exit.
process.once('SIGINT', () => server.close(() => yard.close()))
process.once('SIGTERM', () => server.close(() => yard.close()))
