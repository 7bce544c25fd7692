//! The trained model's files: `weights.safetensors` (f32 tensors by name) and `model.json`
//! (architecture, preprocessing, classes, metrics, version), loadable outside Modelyard.

use std::collections::{BTreeMap, HashMap};

use modelyard_core::{Activation, Error, LayerSpec, Result, Task};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};

use crate::network::{BN_EPSILON, Layer, Network};
use crate::preprocess::Preprocessor;

/// Name of the weights file.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// Name of the description file.
pub const MODEL_FILE: &str = "model.json";
/// Identifies the artifact format in `model.json`.
pub const FORMAT: &str = "modelyard-mlp";
/// Version of the artifact format.
pub const FORMAT_VERSION: u32 = 1;

/// `model.json`: everything besides the weights needed to predict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The library that wrote it (`modelyard-ml 0.1.0`).
    pub library: String,
    /// Classification or regression.
    pub task: Task,
    /// Feature columns, in input order.
    pub features: Vec<String>,
    /// The target column.
    pub target: String,
    /// The fitted transform: how each feature becomes input columns; the target's encoding.
    pub preprocessing: Preprocessor,
    /// Encoded input width.
    pub input_width: usize,
    /// Output width.
    pub outputs: usize,
    /// The hidden layers as the user declared them.
    pub architecture: Vec<LayerSpec>,
    /// The forward pass, layer by layer, naming the tensors in `weights.safetensors`.
    pub layers: Vec<LayerFile>,
    /// `softmax` over the outputs (classification) or `identity` then unscaling (regression).
    pub output: String,
    /// Class labels in output order (empty for regression).
    pub classes: Vec<String>,
    /// Final training metrics.
    pub metrics: BTreeMap<String, f64>,
}

/// One layer of the forward pass, for readers outside Modelyard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerFile {
    /// `activation(x @ weight + bias)`; weight is `[inputs, units]`; gelu is the tanh
    /// approximation `0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))`.
    Dense {
        /// Layer name.
        name: String,
        /// Output width.
        units: usize,
        /// Activation.
        activation: Activation,
        /// Weight tensor name.
        weight: String,
        /// Bias tensor name.
        bias: String,
    },
    /// Identity at inference.
    Dropout {
        /// Layer name.
        name: String,
        /// Training-time drop rate.
        rate: f64,
    },
    /// `(x - running_mean) / sqrt(running_var + epsilon) * gamma + beta`.
    BatchNorm {
        /// Layer name.
        name: String,
        /// Scale tensor name.
        gamma: String,
        /// Shift tensor name.
        beta: String,
        /// Running mean tensor name.
        running_mean: String,
        /// Running variance tensor name.
        running_var: String,
        /// Added to the variance.
        epsilon: f64,
    },
}

/// A loaded artifact: description, network, parameters and running statistics.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// `model.json`.
    pub file: ModelFile,
    /// The planned network.
    pub network: Network,
    /// Flat parameters.
    pub params: Vec<f32>,
    /// Running statistics.
    pub stats: Vec<f32>,
}

/// Writes the two artifact files.
pub fn write(
    file: &ModelFile,
    network: &Network,
    params: &[f32],
    stats: &[f32],
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = network
        .segments
        .iter()
        .map(|s| {
            (s.name.clone(), s.shape.clone(), f32_bytes(&params[s.offset..s.offset + s.len()]))
        })
        .collect();
    for layer in &network.layers {
        if let Layer::BatchNorm { name, width, stats: at, .. } = layer {
            tensors.push((
                format!("{name}.running_mean"),
                vec![*width],
                f32_bytes(&stats[*at..at + width]),
            ));
            tensors.push((
                format!("{name}.running_var"),
                vec![*width],
                f32_bytes(&stats[at + width..at + 2 * width]),
            ));
        }
    }
    let metadata = HashMap::from([("format".to_owned(), FORMAT.to_owned())]);
    let weights = serialize(&tensors, Some(metadata))?;
    let json = serde_json::to_vec_pretty(file).map_err(Error::internal)?;
    Ok(vec![(WEIGHTS_FILE.to_owned(), weights), (MODEL_FILE.to_owned(), json)])
}

/// The forward-pass description of `network` for `model.json`.
pub fn layer_files(network: &Network) -> Vec<LayerFile> {
    let seg = |i: usize| network.segments[i].name.clone();
    network
        .layers
        .iter()
        .map(|layer| match layer {
            Layer::Dense { name, units, activation, weight, bias } => LayerFile::Dense {
                name: name.clone(),
                units: *units,
                activation: *activation,
                weight: seg(*weight),
                bias: seg(*bias),
            },
            Layer::Dropout { name, rate } => LayerFile::Dropout { name: name.clone(), rate: *rate },
            Layer::BatchNorm { name, gamma, beta, .. } => LayerFile::BatchNorm {
                name: name.clone(),
                gamma: seg(*gamma),
                beta: seg(*beta),
                running_mean: format!("{name}.running_mean"),
                running_var: format!("{name}.running_var"),
                epsilon: BN_EPSILON,
            },
        })
        .collect()
}

/// Reads an artifact's files back.
pub fn load(files: &[(String, Vec<u8>)]) -> Result<LoadedModel> {
    let find = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| bytes.as_slice())
            .ok_or_else(|| Error::internal(format!("the artifact has no {name}")))
    };
    let file: ModelFile = serde_json::from_slice(find(MODEL_FILE)?)
        .map_err(|err| Error::internal(format!("{MODEL_FILE}: {err}")))?;
    if file.format != FORMAT || file.format_version != FORMAT_VERSION {
        return Err(Error::NotSupported(format!(
            "artifact format {} v{} (this version reads {FORMAT} v{FORMAT_VERSION})",
            file.format, file.format_version
        )));
    }
    let network = Network::plan(file.input_width, &file.architecture, file.outputs);
    let weights = SafeTensors::deserialize(find(WEIGHTS_FILE)?).map_err(tensor_err)?;
    let mut params = vec![0f32; network.param_count];
    for s in &network.segments {
        let values = read_tensor(&weights, &s.name, &s.shape)?;
        params[s.offset..s.offset + s.len()].copy_from_slice(&values);
    }
    let mut stats = vec![0f32; network.stats_count];
    for layer in &network.layers {
        if let Layer::BatchNorm { name, width, stats: at, .. } = layer {
            let mean = read_tensor(&weights, &format!("{name}.running_mean"), &[*width])?;
            let var = read_tensor(&weights, &format!("{name}.running_var"), &[*width])?;
            stats[*at..at + width].copy_from_slice(&mean);
            stats[at + width..at + 2 * width].copy_from_slice(&var);
        }
    }
    Ok(LoadedModel { file, network, params, stats })
}

/// Serialises named f32 tensors (name, shape, little-endian bytes) as safetensors.
pub fn serialize(
    tensors: &[(String, Vec<usize>, Vec<u8>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.as_str(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(tensor_err)?;
    safetensors::serialize(views, metadata).map_err(tensor_err)
}

/// One f32 tensor of the expected shape.
pub fn read_tensor(tensors: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let view =
        tensors.tensor(name).map_err(|err| Error::internal(format!("tensor {name}: {err}")))?;
    if view.dtype() != Dtype::F32 || view.shape() != shape {
        return Err(Error::internal(format!(
            "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
            view.dtype(),
            view.shape()
        )));
    }
    Ok(view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Little-endian bytes of f32 values.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Maps a safetensors error into the core error.
pub fn tensor_err(err: safetensors::SafeTensorError) -> Error {
    Error::internal(format!("safetensors: {err}"))
}
