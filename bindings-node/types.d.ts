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
