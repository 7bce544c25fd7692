// The original platform's Express routes on the modelyard addon. Each handler is one addon call
// plus HTTP: the rules (validation, ownership, quotas, training) live in the library. Express 5
// hands a rejected handler's error to the error middleware at the end.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import multer from 'multer'

/** HTTP status per error code (the addon's `Error.code`), as the Rust server answers them. */
const STATUS = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  NOT_SUPPORTED: 501,
  UNAVAILABLE: 503,
}

/** Writes `events` (an async iterator) as Server-Sent Events, `event: <type>`, until it ends
 * or the client goes away (leaving the loop releases the library's stream). */
async function sse(req, res, events, type) {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  })
  res.flushHeaders()
  let gone = false
  req.on('close', () => {
    gone = true
  })
  const iterator = events[Symbol.asyncIterator]()
  try {
    while (!gone) {
      const { value, done } = await iterator.next()
      if (done || gone) break
      res.write(`event: ${type(value)}\ndata: ${JSON.stringify(value)}\n\n`)
    }
  } finally {
    await iterator.return()
    res.end()
  }
}

/** A file name safe to create in a directory of its own: the original one's letters, digits,
 * dots, dashes and underscores (the library records its own sanitised copy). */
function spoolName(original) {
  const name = String(original ?? '').replace(/[^A-Za-z0-9._-]/g, '_').slice(-200)
  return /^\.*$/.test(name) ? 'upload.csv' : name
}

/** Spools each upload to a file in a private (0700) temporary directory of its own, removed
 * when the response is done: memory holds multer's buffers, never the file. */
function spooled() {
  return async (req, res, next) => {
    req.spool = await mkdtemp(join(tmpdir(), 'modelyard-upload-'))
    res.on('close', () => rm(req.spool, { recursive: true, force: true }))
    next()
  }
}

export function createApp(yard, { maxUploadBytes = 2 * 1024 * 1024 * 1024 } = {}) {
  const app = express()
  app.use(express.json({ limit: '1mb' }))
  // Uploads are streamed to a spool file, then from it through the library, which checks and
  // profiles the file as it reads it into its blob store.
  const storage = multer.diskStorage({
    destination: (req, file, done) => done(null, req.spool),
    filename: (req, file, done) => done(null, spoolName(file.originalname)),
  })
  const upload = multer({ storage, limits: { fileSize: maxUploadBytes, files: 1 } })

  /** JWT bearer middleware: the library checks the token (signature, expiry, revocation). */
  const signedIn = async (req, res, next) => {
    const header = req.get('authorization') ?? ''
    req.session = await yard.session(header.startsWith('Bearer ') ? header.slice(7) : '')
    next()
  }

  const api = express.Router()

  // /api/auth
  api.post('/auth/register', async (req, res) => {
    const { username, email, password } = req.body ?? {}
    const session = await yard.register(username, email, password)
    res.status(201).json({ user: session.user, token: session.token })
  })
  api.post('/auth/login', async (req, res) => {
    const { email, password } = req.body ?? {}
    const session = await yard.login(email, password)
    res.json({ token: session.token, user: session.user, expiresAt: session.expiresAt })
  })
  api.post('/auth/logout', signedIn, async (req, res) => {
    await req.session.logout()
    res.status(204).end()
  })
  api.get('/auth/me', signedIn, async (req, res) => {
    res.json({ user: await req.session.me() })
  })

  // /api/data
  api.post('/data', signedIn, spooled(), upload.single('file'), async (req, res) => {
    if (!req.file) throw Object.assign(new Error('a CSV file is required'), { code: 'VALIDATION', field: 'file' })
    const name = req.body?.name || req.file.originalname.replace(/\.[^.]*$/, '')
    res.status(201).json({ dataset: await req.session.uploadDataset(name, req.file.path) })
  })
  api.get('/data', signedIn, async (req, res) => {
    res.json({ datasets: await req.session.datasets() })
  })
  api.get('/data/:id', signedIn, async (req, res) => {
    res.json({ dataset: await req.session.dataset(req.params.id) })
  })
  api.get('/data/:id/preview', signedIn, async (req, res) => {
    const limit = req.query.limit === undefined ? undefined : Number(req.query.limit)
    res.json(await req.session.preview(req.params.id, limit))
  })
  api.delete('/data/:id', signedIn, async (req, res) => {
    await req.session.deleteDataset(req.params.id)
    res.status(204).end()
  })

  // /api/model
  api.post('/model', signedIn, async (req, res) => {
    res.status(201).json({ model: await req.session.createModel(req.body ?? {}) })
  })
  api.get('/model', signedIn, async (req, res) => {
    res.json({ models: await req.session.models() })
  })
  api.get('/model/:id', signedIn, async (req, res) => {
    res.json({ model: await req.session.model(req.params.id) })
  })
  api.get('/model/:id/summary', signedIn, async (req, res) => {
    res.json({ summary: await req.session.summary(req.params.id) })
  })
  api.delete('/model/:id', signedIn, async (req, res) => {
    await req.session.deleteModel(req.params.id)
    res.status(204).end()
  })
  api.post('/model/:id/predict', signedIn, async (req, res) => {
    const options = { allowMissing: req.body?.allowMissing === true }
    res.json({ predictions: await req.session.predict(req.params.id, req.body?.rows, options) })
  })
  api.post('/model/:id/evaluate', signedIn, async (req, res) => {
    res.json(await req.session.evaluate(req.params.id, req.body?.datasetId))
  })

  // /api/training
  api.post('/training/start', signedIn, async (req, res) => {
    const { modelId, ...params } = req.body ?? {}
    const run = await req.session.train(modelId, params)
    res.status(202).json({ run: await run.get() })
  })
  api.get('/training', signedIn, async (req, res) => {
    res.json({ runs: await req.session.runs() })
  })
  api.get('/training/:id', signedIn, async (req, res) => {
    res.json({ run: await (await req.session.run(req.params.id)).get() })
  })
  api.get('/training/:id/history', signedIn, async (req, res) => {
    res.json({ history: await (await req.session.run(req.params.id)).history() })
  })
  api.post('/training/:id/cancel', signedIn, async (req, res) => {
    res.status(202).json({ run: await (await req.session.run(req.params.id)).cancel() })
  })
  api.get('/training/:id/events', signedIn, async (req, res) => {
    const run = await req.session.run(req.params.id)
    await sse(req, res, run.events(), (event) => event.type)
  })

  // /api/files
  api.get('/files/datasets/:id', signedIn, async (req, res) => {
    const download = await req.session.downloadDataset(req.params.id)
    res.attachment(download.filename).type('text/csv').send(download.csv)
  })
  api.get('/files/models/:id', signedIn, async (req, res) => {
    const archive = await req.session.modelArchive(req.params.id)
    res.attachment(archive.filename).type('application/zip').send(archive.data)
  })

  // /api/notif
  api.get('/notif', signedIn, async (req, res) => {
    res.json({ notifications: await req.session.notifications() })
  })
  api.post('/notif/:id/read', signedIn, async (req, res) => {
    await req.session.markRead(req.params.id)
    res.status(204).end()
  })
  api.get('/notif/events', signedIn, async (req, res) => {
    await sse(req, res, req.session.notificationEvents(), () => 'notification')
  })

  app.use('/api', api)
  app.get('/healthz', (req, res) => res.json({ status: 'ok' }))
  app.get('/readyz', async (req, res) => {
    await yard.checkReady()
    res.json({ status: 'ready' })
  })

  // Errors: the library's codes as HTTP statuses, `{ error: { code, message, field } }`.
  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err)
    let code = err.code
    if (err instanceof multer.MulterError) code = err.code === 'LIMIT_FILE_SIZE' ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION'
    if (err.type === 'entity.parse.failed') code = 'VALIDATION'
    const status = STATUS[code] ?? 500
    if (status === 500) console.error(err)
    if (code === 'RATE_LIMITED' && err.retryAfter) res.set('Retry-After', String(err.retryAfter))
    const message = status === 500 ? 'internal error' : err.message
    res.status(status).json({ error: { code: STATUS[code] ? code : 'INTERNAL', message, field: err.field } })
  })
  return app
}
