/* The views and inputs of the Modelyard API, as the addon's promises resolve to them: plain
   objects with the facade's camelCase names (DESIGN.md §9). Kept beside the Rust views
   (core/src/views.rs, core/src/domain/) and checked against them by tests/types.test.mjs. */

/** A timestamp, RFC 3339 (`2026-11-27T10:00:00Z`). */
export type Timestamp = string

export interface User {
  id: string
  username: string
  email: string
  displayName: string
  createdAt: Timestamp
}

export interface CategoryCount {
  value: string
  count: number
}

export type ColumnStats =
  | { type: 'numeric'; min: number; max: number; mean: number; std: number; integers: boolean; values?: CategoryCount[] | null }
  | { type: 'categories'; categories: CategoryCount[] }
  | { type: 'text'; max_length: number }
  | { type: 'empty' }

export interface ColumnSchema {
  name: string
  kind: 'numeric' | 'categorical' | 'text' | 'constant'
  missing: number
  distinct: number
  stats: ColumnStats
}

export interface DatasetSchema {
  delimiter: string
  columns: ColumnSchema[]
}

export interface Dataset {
  id: string
  owner: string
  name: string
  originalFilename: string
  sizeBytes: number
  rowCount: number
  schema: DatasetSchema
  uploadedAt: Timestamp
}

export interface Preview {
  columns: string[]
  rows: string[][]
}

export interface DatasetDownload {
  dataset: Dataset
  filename: string
  csv: Buffer
}

export type Activation = 'relu' | 'gelu' | 'tanh' | 'sigmoid' | 'linear'

export type LayerSpec =
  | { type: 'dense'; units: number; activation?: Activation }
  | { type: 'dropout'; rate: number }
  | { type: 'batch_norm' }

export type Task = 'classification' | 'regression'

export interface LayerSummary {
  name: string
  kind: string
  outputShape: Array<number | null>
  params: number
  trainableParams: number
}

export interface ModelSummary {
  inputWidth: number
  layers: LayerSummary[]
  totalParams: number
  trainableParams: number
}

export interface ArtifactFile {
  name: string
  sizeBytes: number
}

export interface ModelVersion {
  runId: string
  files: ArtifactFile[]
  metrics: Record<string, number>
  trainedAt: Timestamp
}

export interface Model {
  id: string
  owner: string
  name: string
  datasetId: string
  target: string
  features: string[]
  task: Task
  layers: LayerSpec[]
  summary: ModelSummary
  latestVersion: ModelVersion | null
  createdAt: Timestamp
}

/** What `createModel` takes: `features` defaults to every usable column, `task` is inferred. */
export interface ModelRequest {
  name: string
  datasetId: string
  target: string
  features?: string[] | null
  task?: Task | null
  layers?: LayerSpec[] | null
}

export interface ModelArchive {
  filename: string
  files: ArtifactFile[]
  data: Buffer
}

/** What a backup archive holds, as written by `export` or restored by `import`. */
export interface BackupSummary {
  users: number
  datasets: number
  models: number
  runs: number
  /** Epoch records of those runs. */
  epochs: number
  notifications: number
  /** Files: datasets' and trained models'. */
  blobs: number
  blobBytes: number
  /** Records left out because their file vanished while backing up. */
  skipped: number
}

export type Optimizer = 'sgd' | 'adam' | 'adamw'

export interface EarlyStopping {
  patience: number
  minDelta?: number
}

/** How a run trains; every setting left out keeps its default. */
export interface TrainParams {
  epochs?: number
  batchSize?: number
  learningRate?: number
  optimizer?: Optimizer
  momentum?: number
  weightDecay?: number
  validationSplit?: number
  seed?: number
  earlyStopping?: EarlyStopping | null
}

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'

export interface EpochMetrics {
  epoch: number
  loss: number
  accuracy: number | null
  r2: number | null
  valLoss: number | null
  valAccuracy: number | null
  valR2: number | null
  learningRate: number
  durationMs: number
  samplesPerSec: number
}

export interface TrainingRun {
  id: string
  owner: string
  modelId: string
  datasetId: string
  params: Required<TrainParams>
  status: RunStatus
  attempt: number
  cancelRequested: boolean
  /** Every epoch's metrics; empty in lists of runs (`session.runs()`), where `epochsCompleted` says how far it got. */
  history: EpochMetrics[]
  epochsCompleted: number
  finalMetrics: Record<string, number> | null
  error: string | null
  createdAt: Timestamp
  startedAt: Timestamp | null
  finishedAt: Timestamp | null
}

/** A live update about a run: an epoch's metrics, or a status change (the last is final). */
export type RunEvent =
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'status'; status: RunStatus; error: string | null }

export type Prediction =
  | { label: string; probabilities: Record<string, number> }
  | { value: number }

export interface ClassMetrics {
  label: string
  precision: number
  recall: number
  f1: number
  support: number
}

export interface ConfusionMatrix {
  labels: string[]
  matrix: number[][]
}

export interface Evaluation {
  metrics: Record<string, number>
  perClass?: ClassMetrics[]
  confusionMatrix?: ConfusionMatrix
}

export interface Notification {
  id: string
  owner: string
  kind: 'run_completed' | 'run_failed' | 'run_cancelled'
  runId: string | null
  message: string
  read: boolean
  createdAt: Timestamp
}

/** `predict()`'s options. */
/** A page of a list: at most `limit` items (default 100, at most 1,000) after the item with id `after`. Without either, a list call answers everything. */
export interface ListOptions {
  limit?: number
  after?: string
}

/** One page of a run's history: `after` is the last epoch number of the page before. */
export interface HistoryOptions {
  limit?: number
  after?: number
}

export interface PredictOptions {
  /** Impute missing feature values as the model learned in training instead of refusing them. */
  allowMissing?: boolean
}

/** `open()`'s options: the settings of the Rust `ConfigSpec`, in camelCase. */
export interface OpenOptions {
  store?: string
  cache?: string
  cacheNamespace?: string
  /** `s3://bucket/prefix?endpoint=...`: file bytes on an S3-compatible server. */
  blobs?: string
  jwtSecret?: string
  workers?: number
  leaseSecs?: number
  heartbeatSecs?: number
  pollIntervalMs?: number
  maxAttempts?: number
  maxModelParams?: number
  maxTrainingBytes?: number
  maxRunRowEpochs?: number
  maxActiveRunsPerUser?: number
  maxRunsPerUser?: number
  maxNotificationsPerUser?: number
  maxModelsPerUser?: number
  loadedModelsBytes?: number
  maxUploadBytes?: number
  maxColumns?: number
  maxFieldBytes?: number
  maxRows?: number
  quotaBytesPerUser?: number
  quotaFilesPerUser?: number
  maxConcurrentUploadsPerUser?: number
  previewMaxRows?: number
  cacheKeyPrefix?: string
  userCacheTtlSecs?: number
  modelCacheTtlSecs?: number
  trainingCacheTtlSecs?: number
  tokenTtlSecs?: number
  jwtIssuer?: string
  jwtAudience?: string
  loginMaxFailures?: number
  loginWindowSecs?: number
}

/** Every error a promise rejects with: an `Error` with the facade's stable `code`. */
export interface ModelyardError extends Error {
  code:
    | 'NOT_FOUND'
    | 'CONFLICT'
    | 'VALIDATION'
    | 'UNAUTHORIZED'
    | 'RATE_LIMITED'
    | 'PAYLOAD_TOO_LARGE'
    | 'UNSUPPORTED_MEDIA_TYPE'
    | 'UNAVAILABLE'
    | 'NOT_SUPPORTED'
    | 'INTERNAL'
  /** The argument or option at fault, for `VALIDATION`. */
  field?: string
  /** Seconds to wait, for `RATE_LIMITED`. */
  retryAfter?: number
}

/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export declare const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1'

declare global {
  interface __NapiRsAsyncGenerator<TOwner, T, TReturn, TNext> {
    next(...[value]: [] | [TNext]): globalThis.Promise<globalThis.IteratorResult<T, TReturn | undefined>>
    return(...[value]: [] | [TReturn]): globalThis.Promise<globalThis.IteratorResult<T, TReturn | undefined>>
    throw(exception?: unknown): globalThis.Promise<globalThis.IteratorResult<T, TReturn | undefined>>
    [globalThis.Symbol.asyncIterator](): this
  }
}

/** An open Modelyard. `close()` stops its training workers; a process with no open yard exits. */
export declare class Modelyard {
  /** Creates an account and resolves to a signed-in session. */
  register(username: string, email: string, password: string): Promise<Session>
  /** Signs in. */
  login(email: string, password: string): Promise<Session>
  /** The session of an access token (a bearer token from a request), checked now. */
  session(token: string): Promise<Session>
  /**
   * Backs up every account and everything it owns into the file `path`: a checksummed
   * archive, created 0600, replacing a file there only once complete.
   */
  export(path: string): Promise<BackupSummary>
  /** Backs up one account, found by `email`, with its whole workspace into the file `path`. */
  exportAccount(email: string, path: string): Promise<BackupSummary>
  /**
   * Restores an archive of `export` into this yard's stores. The whole archive is checked
   * first: a damaged or truncated one rejects with `VALIDATION` (field `archive`), one whose
   * accounts or files exist here with `CONFLICT`, and nothing is written.
   */
  import(path: string): Promise<BackupSummary>
  /** Resolves when the record store answers; rejects with `UNAVAILABLE` while it is down. */
  checkReady(): Promise<void>
  /**
   * Stops this yard's training workers gracefully (a run in flight goes back to the queue)
   * and resolves once they have stopped. Closing twice is harmless.
   */
  close(): Promise<void>
}

/**
 * A user's live notifications (`Notification` objects): an async iterator that goes on until
 * the loop is left (which releases the stream).
 *
 * This type implements JavaScript's async iterable protocol.
 * It can be used with `for await...of` loops.
 *
 * @see https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Iteration_protocols#the_async_iterator_and_async_iterable_protocols
 */
export declare class NotificationEvents {

  [globalThis.Symbol.asyncIterator](): globalThis.__NapiRsAsyncGenerator<NotificationEvents, Notification, void, undefined>
}

/** One training run: its status and history, its live events, a wait for its end, a cancel. */
export declare class Run {
  /** The run's id. */
  get id(): string
  /** The run, read now. */
  get(): Promise<TrainingRun>
  /** Its status now: `queued`, `running`, `completed`, `failed` or `cancelled`. */
  status(): Promise<RunStatus>
  /**
   * Per-epoch metrics so far, oldest first: all of them, or with `limit` (default 100, at
   * most 1,000) and/or `after` (the last epoch number of the page before) one page.
   */
  history(options?: HistoryOptions): Promise<EpochMetrics[]>
  /**
   * Its history so far, then live epochs and status changes, ending after the final status.
   * Leaving a `for await` loop early releases the stream.
   */
  events(): RunEvents
  /**
   * Resolves to the run once it has ended. `{ signal }` rejects the wait with an
   * `AbortError` when the signal fires, `{ timeoutMs }` with a `TIMEOUT` error; neither
   * stops the run (`cancel()` does).
   */
  wait(options?: WaitOptions | undefined | null): Promise<TrainingRun>
  /** Asks the run to stop (a running one stops within one batch) and resolves to it. */
  cancel(): Promise<TrainingRun>
}

/**
 * A run's live events (`RunEvent` objects), in order: an async iterator that ends after the
 * final status. The stream opens at the first `next()`.
 *
 * This type implements JavaScript's async iterable protocol.
 * It can be used with `for await...of` loops.
 *
 * @see https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Iteration_protocols#the_async_iterator_and_async_iterable_protocols
 */
export declare class RunEvents {

  [globalThis.Symbol.asyncIterator](): globalThis.__NapiRsAsyncGenerator<RunEvents, RunEvent, void, undefined>
}

/** A signed-in user. Every call re-checks the token: after `logout()` the session is refused. */
export declare class Session {
  /** The access token, for `Authorization: Bearer <token>` or `yard.session(token)`. */
  get token(): string
  /** Who is signed in (as of sign-in). */
  get user(): User
  /** When the token expires (an RFC 3339 timestamp). */
  get expiresAt(): string
  /** The signed-in user, read now. */
  me(): Promise<User>
  /** Ends this session: its token is refused from now on. */
  logout(): Promise<void>
  /** Changes the password; every token of the user, this one included, stops working. */
  changePassword(current: string, newPassword: string): Promise<void>
  /**
   * Exports the signed-in account with its whole workspace (datasets, models, runs with
   * their histories, notifications, and their files) into the file `path`; another
   * deployment restores it with `yard.import(path)`.
   */
  export(path: string): Promise<BackupSummary>
  /**
   * Uploads a CSV dataset from a file path or from bytes (`Buffer` or `Uint8Array`). Without
   * a name (`null`) it is named after the file (`iris` for `iris.csv`).
   */
  uploadDataset(name: string | undefined | null, source: string | Uint8Array): Promise<Dataset>
  /**
   * The user's datasets, newest first: all of them, or with `{ limit, after }` one
   * page of at most `limit` (default 100, at most 1,000) after the id `after`.
   */
  datasets(options?: ListOptions): Promise<Dataset[]>
  /** One dataset. */
  dataset(datasetId: string): Promise<Dataset>
  /** A dataset's header and first `limit` rows (default 10), cells as written. */
  preview(datasetId: string, limit?: number | undefined | null): Promise<Preview>
  /** Deletes a dataset; `CONFLICT` while a model uses it. */
  deleteDataset(datasetId: string): Promise<void>
  /** Creates a model predicting `target` from `features` (default: every usable column). */
  createModel(request: ModelRequest): Promise<Model>
  /**
   * The user's models, newest first: all of them, or with `{ limit, after }` one
   * page of at most `limit` (default 100, at most 1,000) after the id `after`.
   */
  models(options?: ListOptions): Promise<Model[]>
  /** One model. */
  model(modelId: string): Promise<Model>
  /** A model's layers, output shapes and parameter counts. */
  summary(modelId: string): Promise<ModelSummary>
  /** Deletes a finished run; `CONFLICT` while it is queued or running. */
  deleteRun(runId: string): Promise<void>
  /** Deletes a model; `CONFLICT` while it trains. */
  deleteModel(modelId: string): Promise<void>
  /**
   * Queues a training run and resolves to its `Run`; every setting left out keeps its
   * default, an unknown one is a `VALIDATION` error naming it.
   */
  train(modelId: string, params?: TrainParams): Promise<Run>
  /**
   * The user's runs, newest first, without their per-epoch histories (`epochsCompleted` says how far each got): all of them, or with `{ limit, after }` one
   * page of at most `limit` (default 100, at most 1,000) after the id `after`.
   */
  runs(options?: ListOptions): Promise<TrainingRun[]>
  /** A handle on one of the user's runs. */
  run(runId: string): Promise<Run>
  /**
   * Predicts rows given as objects keyed by column name. Every feature needs a value: a
   * missing one (absent, `null`, `''`, `'NaN'`) is a `VALIDATION` error naming it, unless
   * `{ allowMissing: true }` lets the model impute it.
   */
  predict(modelId: string, rows: Array<Record<string, string | number | boolean | null>>, options?: PredictOptions): Promise<Prediction[]>
  /** Scores a model on a dataset holding its features and target. */
  evaluate(modelId: string, datasetId: string): Promise<Evaluation>
  /** A dataset's whole CSV (formula-like cells neutralised) and a file name to save it under. */
  downloadDataset(datasetId: string): Promise<DatasetDownload>
  /** The trained model as a zip archive: `filename`, `files` and the bytes in `data`. */
  modelArchive(modelId: string): Promise<ModelArchive>
  /**
   * The user's notifications, newest first: all of them, or with `{ limit, after }` one
   * page of at most `limit` (default 100, at most 1,000) after the id `after`.
   */
  notifications(options?: ListOptions): Promise<Notification[]>
  /**
   * The user's notifications as they happen, an async iterator (`for await (const n of
   * session.notificationEvents())`) that goes on until the loop is left.
   */
  notificationEvents(): NotificationEvents
  /** Marks a notification read and resolves to it. */
  markRead(notificationId: string): Promise<Notification>
}

/**
 * Opens a store: `await open('sled://./data')` or `await open({ store, cache, jwtSecret,
 * workers, ... })`, the options being `ConfigSpec`'s settings in camelCase. An unknown key is a
 * `VALIDATION` error naming it.
 */
export declare function open(target: string | OpenOptions): Promise<Modelyard>

/** How `run.wait()` waits. */
export interface WaitOptions {
  /** Rejects the wait with an `AbortError` when it fires (the run goes on). */
  signal?: AbortSignal
  /** Rejects the wait with a `TIMEOUT`-coded error after this many milliseconds. */
  timeoutMs?: number
}
