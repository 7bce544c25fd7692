//! Where a run's checkpoint lives and how it is framed in the blob store.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{BlobKey, Checkpoint, Error, Result, RunId};

/// The blob key of a run's latest checkpoint (one per run, overwritten every epoch).
pub fn checkpoint_key(run: RunId) -> Result<BlobKey> {
    BlobKey::parse(&format!("checkpoints/{run}"))
}

/// Frames a checkpoint: a magic tag, the epoch, then the trainer's state.
pub fn encode(checkpoint: &Checkpoint) -> Bytes {
    let mut out = BytesMut::with_capacity(12 + checkpoint.state.len());
    out.put_slice(MAGIC);
    out.put_u32(checkpoint.epoch);
    out.put_slice(&checkpoint.state);
    out.freeze()
}

/// Reads a framed checkpoint; a damaged one is an error, never a panic.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .filter(|body| body.len() >= 4)
        .ok_or_else(|| Error::Internal("damaged checkpoint".into()))?;
    let (epoch, state) = body.split_at(4);
    let epoch = u32::from_be_bytes([epoch[0], epoch[1], epoch[2], epoch[3]]);
    Ok(Checkpoint { epoch, state: state.to_vec() })
}

const MAGIC: &[u8; 8] = b"MYCKPT01";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_damage_is_an_error() {
        let cp = Checkpoint { epoch: 7, state: vec![1, 2, 3] };
        assert_eq!(decode(&encode(&cp)).unwrap(), cp);
        assert!(decode(b"MYCKPT01\0").is_err());
        assert!(decode(b"garbage").is_err());
    }
}
