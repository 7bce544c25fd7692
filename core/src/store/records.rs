use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Mutation;
use crate::{
    Dataset, DatasetId, Model, ModelId, Notification, NotificationId, Result, RunId, TrainingRun,
    User, UserId,
};

/// Accounts.
///
/// # Behavior
/// - `create_user` fails with `Conflict` when another user has the same email after
///   [`crate::normalize_email`], or the same username (case-insensitively); nothing is written then.
/// - `find_user_by_email` matches on the normalised email and returns `None` when there is none.
/// - `update_user` applies the mutation atomically; the mutation may not change the id or email.
/// - `list_users` walks every account in id order (oldest first): at most `limit` users with
///   ids above `after`; a page shorter than `limit` ends the walk.
/// - Missing ids are `NotFound`. A created user is durable when `create_user` returns.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user.
    async fn create_user(&self, user: &User) -> Result<()>;
    /// The user with this id.
    async fn get_user(&self, id: UserId) -> Result<User>;
    /// The user whose normalised email equals `email` normalised.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Atomically changes one user and returns it as stored.
    async fn update_user(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User>;
    /// Removes a user; `NotFound` if absent. Frees the email and username.
    async fn delete_user(&self, id: UserId) -> Result<()>;
    /// Up to `limit` users with ids above `after` (from the first without it), in id order:
    /// what a backup walks.
    async fn list_users(&self, after: Option<UserId>, limit: usize) -> Result<Vec<User>>;
}

/// The id of an owner-scoped record: 16 bytes that sort in creation order (UUID v7).
pub trait RecordId: Copy + Eq + Ord + Display + Debug + Send + Sync + 'static {
    /// The 16 big-endian bytes.
    fn to_bytes(&self) -> [u8; 16];
    /// The id with these bytes.
    fn from_bytes(bytes: [u8; 16]) -> Self;
}

/// A record that belongs to one user: a dataset, a model, a training run or a notification.
///
/// Every backend stores every kind through one [`RecordStore`] implementation; what a kind
/// means (a run's lifecycle, a dataset's blob) is the business of core's services.
pub trait Record: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static {
    /// The record's id type.
    type Id: RecordId;
    /// What the record is called in errors (`"dataset"`).
    const KIND: &'static str;
    /// The record's id.
    fn id(&self) -> Self::Id;
    /// Whose record it is.
    fn owner(&self) -> UserId;
}

macro_rules! owned_record {
    ($record:ty, $id:ty, $kind:literal) => {
        impl RecordId for $id {
            fn to_bytes(&self) -> [u8; 16] {
                <$id>::to_bytes(self)
            }
            fn from_bytes(bytes: [u8; 16]) -> Self {
                <$id>::from_uuid(uuid::Uuid::from_bytes(bytes))
            }
        }

        impl Record for $record {
            type Id = $id;
            const KIND: &'static str = $kind;
            fn id(&self) -> $id {
                self.id
            }
            fn owner(&self) -> UserId {
                self.owner
            }
        }
    };
}

owned_record!(Dataset, DatasetId, "dataset");
owned_record!(Model, ModelId, "model");
owned_record!(TrainingRun, RunId, "run");
owned_record!(Notification, NotificationId, "notification");

/// Which part of an owner's records to list: newest first, at most `limit`, starting after
/// the record `after` (the last one of the previous page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<Id> {
    /// At most this many records; `None` lists them all.
    pub limit: Option<usize>,
    /// Start with the record created just before this one (it need not still exist).
    pub after: Option<Id>,
}

/// Items per page when a caller gives no limit.
pub const DEFAULT_PAGE_LIMIT: usize = 100;
/// The largest page a caller may ask for.
pub const MAX_PAGE_LIMIT: usize = 1_000;

impl<Id> Page<Id> {
    /// Every record.
    pub const ALL: Self = Self { limit: None, after: None };

    /// The page a caller asked for: `limit` defaults to [`DEFAULT_PAGE_LIMIT`] and must be
    /// `1..=`[`MAX_PAGE_LIMIT`] (a `Validation` error on field `limit` otherwise); `after` is
    /// the `next` cursor of the page before.
    pub fn requested(limit: Option<usize>, after: Option<Id>) -> crate::Result<Self> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
            return Err(crate::Error::validation(
                "limit",
                format!("a page holds 1 to {MAX_PAGE_LIMIT} items, not {limit}"),
            ));
        }
        Ok(Self { limit: Some(limit), after })
    }

    /// The first `limit` records.
    pub const fn first(limit: usize) -> Self {
        Self { limit: Some(limit), after: None }
    }

    /// The `limit` records after `after`.
    pub const fn after(after: Id, limit: usize) -> Self {
        Self { limit: Some(limit), after: Some(after) }
    }
}

/// One page of records and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T: Record> {
    /// The records, newest first.
    pub records: Vec<T>,
    /// The cursor of the next page (the last record's id), or `None` when this page ends the
    /// list.
    pub next: Option<T::Id>,
}

impl<T: Record> Listed<T> {
    /// A page from up to `limit + 1` records read in list order: the extra one only says
    /// that another page exists.
    pub fn from_probe(records: Vec<T>, limit: Option<usize>) -> Self {
        let (records, next) = split_probe(records, limit, Record::id);
        Self { records, next }
    }
}

/// Splits up to `limit + 1` items read in list order into the page (at most `limit`) and the
/// cursor of the next one (`cursor` of the page's last item), `None` when no extra item says
/// that another page exists.
pub(crate) fn split_probe<T, C>(
    mut items: Vec<T>,
    limit: Option<usize>,
    cursor: impl Fn(&T) -> C,
) -> (Vec<T>, Option<C>) {
    let next = match limit {
        Some(limit) if items.len() > limit => {
            items.truncate(limit);
            items.last().map(cursor)
        }
        _ => None,
    };
    (items, next)
}

/// Owner-scoped records of one kind: what every backend implements once for all kinds.
///
/// # Behavior
/// - Every read and write takes the caller's id; a record of another owner is `NotFound`,
///   exactly as a missing id (reads, updates and deletes alike).
/// - `insert` with an existing id (of any owner) is `Conflict` and writes nothing.
/// - `list` is newest first (ids are time-ordered); pages walked with [`Listed::next`] see
///   every record that existed throughout the walk exactly once, without gaps or repeats.
/// - `update` applies the mutation atomically: concurrent updates never lose a write; the
///   mutation may run more than once, and may not change the id or owner.
/// - `count` is the number of the owner's records.
/// - A write is durable when it returns.
#[async_trait]
pub trait RecordStore<T: Record>: Send + Sync {
    /// Stores a new record.
    async fn insert(&self, record: &T) -> Result<()>;
    /// The owner's record with this id.
    async fn get(&self, owner: UserId, id: T::Id) -> Result<T>;
    /// A page of the owner's records, newest first.
    async fn list(&self, owner: UserId, page: Page<T::Id>) -> Result<Listed<T>>;
    /// How many records the owner has.
    async fn count(&self, owner: UserId) -> Result<u64>;
    /// Atomically changes one of the owner's records and returns it as stored.
    async fn update(&self, owner: UserId, id: T::Id, mutation: Mutation<'_, T>) -> Result<T>;
    /// Removes the owner's record; `NotFound` if absent or not theirs.
    async fn delete(&self, owner: UserId, id: T::Id) -> Result<()>;

    /// Every record of the owner, newest first.
    async fn list_all(&self, owner: UserId) -> Result<Vec<T>> {
        Ok(self.list(owner, Page::ALL).await?.records)
    }
}
