//! [`crate::UserStore`]: unique emails and usernames, lookups by normalised email, atomic updates.

use super::{Fixture, assert_code, sample_user, unique_email, unique_username};
use crate::{Error, User, UserId};

/// A created user reads back exactly as written.
pub async fn created_user_reads_back_unchanged(fx: &Fixture) {
    let users = &fx.backend.users;
    let user = sample_user(&unique_email());
    users.create_user(&user).await.expect("create_user of a new user");
    let stored = users.get_user(user.id).await.expect("get_user of a created user");
    assert_eq!(stored, user, "get_user must return the user as created");
}

/// A second account whose email differs only in case and surrounding spaces is a `Conflict`.
pub async fn email_is_unique_case_insensitively(fx: &Fixture) {
    let users = &fx.backend.users;
    let local = uuid::Uuid::new_v4().simple().to_string();
    let first = sample_user(&format!("Alice.{local}@Example.com"));
    users.create_user(&first).await.expect("create_user of the first account");

    let mut twin = sample_user("x@example.com");
    twin.email = format!("  ALICE.{local}@example.COM ");
    assert_code(
        users.create_user(&twin).await,
        "CONFLICT",
        "create_user with an email equal after normalize_email",
    );
}

/// A second account whose username differs only in case is a `Conflict`.
pub async fn username_is_unique_case_insensitively(fx: &Fixture) {
    let users = &fx.backend.users;
    let first = sample_user(&unique_email());
    users.create_user(&first).await.expect("create_user of the first account");

    let mut twin = sample_user(&unique_email());
    twin.username = first.username.to_uppercase();
    assert_code(
        users.create_user(&twin).await,
        "CONFLICT",
        "create_user with a username equal case-insensitively",
    );
}

/// A refused account leaves no trace: its id is unknown and its other unique fields stay free.
pub async fn conflicting_user_writes_nothing(fx: &Fixture) {
    let users = &fx.backend.users;
    let first = sample_user(&unique_email());
    users.create_user(&first).await.expect("create_user of the first account");

    // Same email, new username: the username must not be taken by the refused account.
    let mut same_email = sample_user(&first.email);
    same_email.username = unique_username();
    assert_code(users.create_user(&same_email).await, "CONFLICT", "duplicate email");
    assert_code(users.get_user(same_email.id).await, "NOT_FOUND", "the refused account's id");
    let reuse_username = User { email: unique_email(), id: UserId::new(), ..same_email };
    users
        .create_user(&reuse_username)
        .await
        .expect("the username of a refused account must still be free");

    // Same username, new email: the email must not be taken by the refused account.
    let mut same_username = sample_user(&unique_email());
    same_username.username = first.username.clone();
    assert_code(users.create_user(&same_username).await, "CONFLICT", "duplicate username");
    let found = users.find_user_by_email(&same_username.email).await.expect("find_user_by_email");
    assert_eq!(found, None, "the email of a refused account must not be findable");
    let reuse_email = User { username: unique_username(), id: UserId::new(), ..same_username };
    users.create_user(&reuse_email).await.expect("the email of a refused account must be free");
}

/// Racing sign-ups with one email (in different cases) admit exactly one account.
pub async fn concurrent_signups_with_one_email_admit_one(fx: &Fixture) {
    let local = uuid::Uuid::new_v4().simple().to_string();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let users = fx.backend.users.clone();
            let mut user = sample_user("x@example.com");
            user.email = if i % 2 == 0 {
                format!("race.{local}@example.com")
            } else {
                format!("RACE.{local}@Example.COM")
            };
            tokio::spawn(async move { users.create_user(&user).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.expect("sign-up task panicked") {
            Ok(()) => created += 1,
            Err(err) => assert_eq!(err.code(), "CONFLICT", "a losing sign-up: {err:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one of 8 racing sign-ups with one email may succeed");
}

/// `find_user_by_email` compares normalised emails, whatever case and spaces either side used.
pub async fn find_user_by_email_matches_normalised_email(fx: &Fixture) {
    let users = &fx.backend.users;
    let local = uuid::Uuid::new_v4().simple().to_string();
    let user = sample_user(&format!("Bob.{local}@Example.org"));
    users.create_user(&user).await.expect("create_user");

    for query in [
        format!("Bob.{local}@Example.org"),
        format!("bob.{local}@example.org"),
        format!("  BOB.{local}@EXAMPLE.ORG\t"),
    ] {
        let found = users.find_user_by_email(&query).await.expect("find_user_by_email");
        assert_eq!(found.as_ref(), Some(&user), "find_user_by_email({query:?})");
    }
}

/// An email nobody registered finds nobody.
pub async fn find_user_by_unknown_email_is_none(fx: &Fixture) {
    let found = fx.backend.users.find_user_by_email(&unique_email()).await.expect("lookup");
    assert_eq!(found, None, "find_user_by_email of an unknown address");
}

/// Reading, updating or deleting an id that does not exist is `NotFound`.
pub async fn missing_user_is_not_found(fx: &Fixture) {
    let users = &fx.backend.users;
    let id = UserId::new();
    assert_code(users.get_user(id).await, "NOT_FOUND", "get_user of a missing id");
    let update = users
        .update_user(id, &mut |u| {
            u.token_version += 1;
            Ok(())
        })
        .await;
    assert_code(update, "NOT_FOUND", "update_user of a missing id");
    assert_code(users.delete_user(id).await, "NOT_FOUND", "delete_user of a missing id");
}

/// `update_user` returns the user as stored, and later reads agree.
pub async fn update_user_returns_stored_user(fx: &Fixture) {
    let users = &fx.backend.users;
    let user = sample_user(&unique_email());
    users.create_user(&user).await.expect("create_user");
    let updated = users
        .update_user(user.id, &mut |u| {
            u.profile.display_name = "Renamed".to_owned();
            u.token_version += 1;
            Ok(())
        })
        .await
        .expect("update_user");
    assert_eq!(updated.profile.display_name, "Renamed", "the mutation's change is returned");
    assert_eq!(updated.token_version, 1, "the mutation's change is returned");
    let stored = users.get_user(user.id).await.expect("get_user");
    assert_eq!(stored, updated, "get_user after update_user returns what update_user returned");
}

/// A mutation that fails returns its error and changes nothing, even what it touched first.
pub async fn failed_mutation_writes_nothing(fx: &Fixture) {
    let users = &fx.backend.users;
    let user = sample_user(&unique_email());
    users.create_user(&user).await.expect("create_user");
    let update = users
        .update_user(user.id, &mut |u| {
            u.profile.display_name = "half-written".to_owned();
            Err(Error::validation("display_name", "refused by the mutation"))
        })
        .await;
    let err = assert_code(update, "VALIDATION", "a failing mutation's error");
    assert_eq!(err.field(), Some("display_name"), "update_user returns the mutation's own error");
    let stored = users.get_user(user.id).await.expect("get_user");
    assert_eq!(stored, user, "a failed mutation must write nothing");
}

/// A mutation may not move a user to another id or email: after one tries, the user keeps both
/// and is still found by its email.
pub async fn update_user_keeps_id_and_email(fx: &Fixture) {
    let users = &fx.backend.users;
    let user = sample_user(&unique_email());
    users.create_user(&user).await.expect("create_user");
    let other_email = unique_email();
    let _refused_or_ignored = users
        .update_user(user.id, &mut |u| {
            u.email = other_email.clone();
            u.id = UserId::new();
            Ok(())
        })
        .await;
    let stored = users.get_user(user.id).await.expect("the user under its original id");
    assert_eq!(stored.id, user.id, "update_user must not change the id");
    assert_eq!(stored.email, user.email, "update_user must not change the email");
    let by_email = users.find_user_by_email(&user.email).await.expect("find_user_by_email");
    assert_eq!(by_email.map(|u| u.id), Some(user.id), "the original email still finds the user");
    let by_other = users.find_user_by_email(&other_email).await.expect("find_user_by_email");
    assert_eq!(by_other, None, "the email the mutation tried to set finds nobody");
}

/// Concurrent updates of one user all apply: none is lost to a read-modify-write race.
pub async fn update_user_is_atomic_under_concurrent_updates(fx: &Fixture) {
    let user = sample_user(&unique_email());
    fx.backend.users.create_user(&user).await.expect("create_user");
    let id = user.id;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let users = fx.backend.users.clone();
            tokio::spawn(async move {
                users
                    .update_user(id, &mut |u| {
                        u.token_version += 1;
                        Ok(())
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("update task panicked").expect("concurrent update_user");
    }
    let stored = fx.backend.users.get_user(user.id).await.expect("get_user");
    assert_eq!(stored.token_version, 20, "20 concurrent increments must all be kept");
}

/// A deleted user is gone, and its email and username can be registered again.
pub async fn deleted_user_frees_email_and_username(fx: &Fixture) {
    let users = &fx.backend.users;
    let user = sample_user(&unique_email());
    users.create_user(&user).await.expect("create_user");
    users.delete_user(user.id).await.expect("delete_user");

    assert_code(users.get_user(user.id).await, "NOT_FOUND", "get_user after delete_user");
    let found = users.find_user_by_email(&user.email).await.expect("find_user_by_email");
    assert_eq!(found, None, "a deleted user's email finds nobody");
    assert_code(users.delete_user(user.id).await, "NOT_FOUND", "delete_user twice");

    let again = User { id: UserId::new(), ..user };
    users.create_user(&again).await.expect("re-registering a deleted user's email and username");
}

/// `list_users` walks every account once, in id order, a page at a time.
pub async fn users_are_listed_in_id_order_a_page_at_a_time(fx: &Fixture) {
    let users = &fx.backend.users;
    let mut created = Vec::new();
    for _ in 0..7 {
        let user = sample_user(&unique_email());
        users.create_user(&user).await.expect("create_user");
        created.push(user);
    }
    let gone = created.remove(3);
    users.delete_user(gone.id).await.expect("delete_user");

    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = users.list_users(after, 2).await.expect("list_users");
        assert!(page.len() <= 2, "a page of list_users(_, 2) held {} users", page.len());
        let ended = page.len() < 2;
        after = page.last().map(|u| u.id).or(after);
        walked.extend(page);
        if ended {
            break;
        }
    }
    let ids: Vec<UserId> = walked.iter().map(|u| u.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "list_users must walk in id order without repeats");
    for user in &created {
        let listed = walked.iter().find(|u| u.id == user.id);
        assert_eq!(listed, Some(user), "every user is listed unchanged");
    }
    assert!(!ids.contains(&gone.id), "a deleted user is not listed");
    assert_eq!(users.list_users(None, 0).await.expect("list_users(None, 0)"), Vec::<User>::new());
}
