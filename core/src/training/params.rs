//! Checking training parameters before a run is queued, so a bad value is a field error now
//! rather than a failed run later.

use crate::{Error, Result, TrainParams};

/// Most epochs one run may ask for.
pub const MAX_EPOCHS: u32 = 10_000;
/// Largest batch.
pub const MAX_BATCH_SIZE: u32 = 65_536;

/// Checks every parameter; the error names the first field at fault.
pub fn validate_params(params: &TrainParams) -> Result<()> {
    let in_range = |field: &str, value: f64, ok: bool, rule: &str| {
        if value.is_finite() && ok {
            Ok(())
        } else {
            Err(Error::validation(field, format!("{rule}; got {value}")))
        }
    };
    if !(1..=MAX_EPOCHS).contains(&params.epochs) {
        return Err(Error::validation("epochs", format!("must be 1 to {MAX_EPOCHS}")));
    }
    if !(1..=MAX_BATCH_SIZE).contains(&params.batch_size) {
        return Err(Error::validation("batch_size", format!("must be 1 to {MAX_BATCH_SIZE}")));
    }
    let lr = params.learning_rate;
    in_range("learning_rate", lr, lr > 0.0 && lr <= 10.0, "must be above 0 and at most 10")?;
    let m = params.momentum;
    in_range("momentum", m, (0.0..1.0).contains(&m), "must be at least 0 and below 1")?;
    let wd = params.weight_decay;
    in_range("weight_decay", wd, (0.0..=1.0).contains(&wd), "must be 0 to 1")?;
    let vs = params.validation_split;
    in_range("validation_split", vs, (0.0..=0.9).contains(&vs), "must be 0 to 0.9")?;
    if let Some(stopping) = &params.early_stopping {
        if stopping.patience == 0 {
            return Err(Error::validation("early_stopping.patience", "must be at least 1"));
        }
        let d = stopping.min_delta;
        in_range("early_stopping.min_delta", d, d >= 0.0, "must be at least 0")?;
        if vs == 0.0 {
            return Err(Error::validation(
                "early_stopping",
                "early stopping watches validation loss: set validation_split above 0",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EarlyStopping;

    fn field_of(params: TrainParams) -> String {
        validate_params(&params).unwrap_err().field().unwrap().to_owned()
    }

    #[test]
    fn defaults_are_valid() {
        validate_params(&TrainParams::default()).unwrap();
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let d = TrainParams::default;
        assert_eq!(field_of(TrainParams { epochs: 0, ..d() }), "epochs");
        assert_eq!(field_of(TrainParams { batch_size: 0, ..d() }), "batch_size");
        assert_eq!(field_of(TrainParams { learning_rate: f64::NAN, ..d() }), "learning_rate");
        assert_eq!(field_of(TrainParams { learning_rate: -1.0, ..d() }), "learning_rate");
        assert_eq!(field_of(TrainParams { momentum: 1.0, ..d() }), "momentum");
        assert_eq!(field_of(TrainParams { weight_decay: f64::INFINITY, ..d() }), "weight_decay");
        assert_eq!(field_of(TrainParams { validation_split: 0.95, ..d() }), "validation_split");
        let stop = |patience, min_delta| Some(EarlyStopping { patience, min_delta });
        assert_eq!(
            field_of(TrainParams { early_stopping: stop(0, 0.0), ..d() }),
            "early_stopping.patience"
        );
        assert_eq!(
            field_of(TrainParams { early_stopping: stop(3, 0.0), validation_split: 0.0, ..d() }),
            "early_stopping"
        );
    }
}
