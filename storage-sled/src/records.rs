//! Owner-scoped records, every kind alike: a tree of records by id plus an owner index. This
//! is the one [`RecordStore`] implementation of the crate; datasets, models, runs and
//! notifications are each a [`Collection`] of their type.

use std::marker::PhantomData;

use async_trait::async_trait;
use modelyard_core::memo::DecodeMemo;
use modelyard_core::{
    Error, Listed, Mutation, Page, Record, RecordId, RecordStore, Result, UserId,
};
use sled::Transactional;

use crate::db::{self, decode, encode, owner_key};
use crate::error::{abort, map_error, tx_error};

/// Memory for decoded records remembered per collection (see [`DecodeMemo`]): a few thousand
/// records, enough for every list page of the active accounts.
const MEMO_BYTES: u64 = 4 * 1024 * 1024;

/// Records of one kind: `records` (id -> JSON) and `by_owner` (owner ++ id -> empty).
pub(crate) struct Collection<T> {
    db: db::Db,
    records: sled::Tree,
    by_owner: sled::Tree,
    /// Reads skip JSON parsing when a record's bytes are unchanged since the last decode.
    memo: DecodeMemo<[u8; 16]>,
    record: PhantomData<fn() -> T>,
}

impl<T: Record> Collection<T> {
    /// Opens the trees `<name>` and `<name>_by_owner`.
    pub(crate) fn open(db: &db::Db, name: &str) -> Result<Self> {
        Ok(Self {
            db: db.clone(),
            records: db::open_tree(db, name)?,
            by_owner: db::open_tree(db, &format!("{name}_by_owner"))?,
            memo: DecodeMemo::new(MEMO_BYTES),
            record: PhantomData,
        })
    }

    /// The owner's record; another owner's record is as missing as an unknown id.
    fn read(&self, owner: UserId, id: [u8; 16]) -> Result<T> {
        let bytes = self.records.get(id).map_err(map_error)?;
        let record =
            bytes.map(|b| self.memo.decode(id, &b, |b| decode::<T>(b, T::KIND))).transpose()?;
        record.filter(|r| r.owner() == owner).ok_or_else(|| Error::not_found(T::KIND))
    }
}

#[async_trait]
impl<T: Record> RecordStore<T> for Collection<T> {
    /// Stores a new record and its index entry in one transaction; an existing id is `Conflict`.
    async fn insert(&self, record: &T) -> Result<()> {
        let id = record.id().to_bytes();
        let index_key = owner_key(record.owner(), id);
        let value = encode(record)?;
        (&self.records, &self.by_owner)
            .transaction(|(records, by_owner)| {
                if records.get(id)?.is_some() {
                    return abort(Error::Conflict(format!("{} already exists", T::KIND)));
                }
                records.insert(&id, value.as_slice())?;
                by_owner.insert(&index_key, sled::IVec::default())?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.db.flush().await
    }

    async fn get(&self, owner: UserId, id: T::Id) -> Result<T> {
        self.read(owner, id.to_bytes())
    }

    /// Walks the owner index backwards (newest first) from just before the cursor.
    async fn list(&self, owner: UserId, page: Page<T::Id>) -> Result<Listed<T>> {
        let start = owner_key(owner, [0; 16]);
        let entries = match page.after {
            Some(after) => self.by_owner.range(start..owner_key(owner, after.to_bytes())),
            None => self.by_owner.scan_prefix(owner.to_bytes()),
        };
        let want = page.limit.map_or(usize::MAX, |limit| limit.saturating_add(1));
        let mut out = Vec::new();
        for entry in entries.rev() {
            if out.len() >= want {
                break;
            }
            let (key, _) = entry.map_err(map_error)?;
            let id = db::id_of_owner_key(&key)
                .ok_or_else(|| Error::internal(format!("malformed {} index key", T::KIND)))?;
            // The scan is not a snapshot: a record deleted since its index entry was read is skipped.
            match self.read(owner, id) {
                Ok(record) => out.push(record),
                Err(Error::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(Listed::from_probe(out, page.limit))
    }

    async fn count(&self, owner: UserId) -> Result<u64> {
        let mut count = 0u64;
        for entry in self.by_owner.scan_prefix(owner.to_bytes()).keys() {
            entry.map_err(map_error)?;
            count += 1;
        }
        Ok(count)
    }

    /// Applies `mutation` to the owner's record with compare-and-swap, retrying on a concurrent
    /// change; the mutation's error aborts with nothing written.
    async fn update(&self, owner: UserId, id: T::Id, mutation: Mutation<'_, T>) -> Result<T> {
        let id = id.to_bytes();
        loop {
            let Some(old) = self.records.get(id).map_err(map_error)? else {
                return Err(Error::not_found(T::KIND));
            };
            let current: T = decode(&old, T::KIND)?;
            if current.owner() != owner {
                return Err(Error::not_found(T::KIND));
            }
            let mut changed = current.clone();
            mutation(&mut changed)?;
            if changed.id().to_bytes() != id || changed.owner() != owner {
                return Err(Error::internal(format!(
                    "a {} update may not change its id or owner",
                    T::KIND
                )));
            }
            let new = encode(&changed)?;
            match self.records.compare_and_swap(id, Some(&old), Some(new)).map_err(map_error)? {
                Ok(()) => {
                    self.db.flush().await?;
                    return Ok(changed);
                }
                // Someone changed (or deleted) it between our read and write: start over.
                Err(_) => continue,
            }
        }
    }

    /// Removes the owner's record and its index entry in one transaction.
    async fn delete(&self, owner: UserId, id: T::Id) -> Result<()> {
        let id = id.to_bytes();
        (&self.records, &self.by_owner)
            .transaction(|(records, by_owner)| {
                let Some(bytes) = records.get(id)? else {
                    return abort(Error::not_found(T::KIND));
                };
                let record: T = match decode(&bytes, T::KIND) {
                    Ok(record) => record,
                    Err(err) => return abort(err),
                };
                if record.owner() != owner {
                    return abort(Error::not_found(T::KIND));
                }
                records.remove(&id)?;
                by_owner.remove(&owner_key(owner, id))?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.memo.forget(&id);
        self.db.flush().await
    }
}
