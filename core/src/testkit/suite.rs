//! The macro that turns the behaviours into one `#[tokio::test]` each in a backend's test file.
//!
//! Adding a behaviour: write the `pub async fn` in its trait's module, then add its name to the
//! list in [`conformance_suite!`](crate::conformance_suite). A unit test below fails when a
//! behaviour is missing from the list.

/// Writes the conformance suite into the calling test file: one
/// `#[tokio::test(flavor = "multi_thread")]` per behaviour, in a module per trait
/// (`users::email_is_unique_case_insensitively`, `queue::stale_claim_cannot_complete`, ...).
///
/// `$fresh` names an `async fn() -> Fixture` that opens the backend in a fresh namespace; every
/// test calls it once. A backend on a server returns `Option<Fixture>` instead: `None` (after
/// saying so, and failing under `CI=true`) when its server is not there, and the test skips —
/// it never runs on another backend in its place. The caller needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency and nothing imported. Invoke it once per module.
///
/// ```ignore
/// async fn fresh() -> modelyard_core::testkit::Fixture {
///     let dir = tempfile::tempdir().unwrap();
///     let backend = modelyard_storage_sled::SledStore::open(&modelyard_storage_sled::SledConfig::new(dir.path())).unwrap().backend();
///     modelyard_core::testkit::Fixture::new(backend, dir)
/// }
/// modelyard_core::conformance_suite!(fresh);
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($fresh:path) => {
        async fn __modelyard_conformance_fixture() -> Option<$crate::testkit::Fixture> {
            $fresh().await.into()
        }

        $crate::__conformance_tests! {
            users {
                created_user_reads_back_unchanged,
                email_is_unique_case_insensitively,
                username_is_unique_case_insensitively,
                conflicting_user_writes_nothing,
                concurrent_signups_with_one_email_admit_one,
                find_user_by_email_matches_normalised_email,
                find_user_by_unknown_email_is_none,
                missing_user_is_not_found,
                update_user_returns_stored_user,
                failed_mutation_writes_nothing,
                update_user_keeps_id_and_email,
                update_user_is_atomic_under_concurrent_updates,
                deleted_user_frees_email_and_username,
                users_are_listed_in_id_order_a_page_at_a_time,
            }
            records {
                created_record_reads_back_unchanged,
                record_id_is_unique,
                user_b_cannot_touch_user_a_record,
                user_b_does_not_list_user_a_records,
                list_is_newest_first,
                pages_walk_the_list_without_gaps_or_repeats,
                a_page_after_a_deleted_record_continues_the_walk,
                deleted_record_is_not_found,
                missing_record_is_not_found,
                update_returns_the_stored_record_and_a_failed_one_writes_nothing,
                concurrent_updates_are_not_lost,
                concurrent_inserts_are_all_listed,
            }
            models {
                created_model_reads_back_unchanged,
            }
            runs {
                created_run_reads_back_unchanged,
                concurrent_epoch_counts_are_not_lost,
                concurrent_finishers_complete_a_run_once,
            }
            history {
                epochs_read_back_in_epoch_order_unchanged,
                a_repeated_epoch_replaces_the_first,
                concurrent_puts_keep_every_epoch_once,
                pages_walk_the_history_in_order,
                another_owner_never_touches_a_history,
                deleted_history_is_empty_and_others_are_kept,
            }
            notifications {
                created_notification_reads_back_unchanged,
            }
            blobs {
                blob_round_trips,
                blob_streams_large_payloads,
                empty_blob_round_trips,
                put_over_existing_key_replaces_it,
                blob_put_from_failing_stream_stores_nothing,
                failed_put_keeps_the_previous_blob,
                abandoned_put_stores_nothing,
                a_range_reads_exactly_its_bytes,
                missing_blob_is_not_found,
                deleted_blob_is_not_found,
                deleting_missing_blob_is_ok,
            }
            cache {
                set_value_is_returned_by_get,
                missing_key_is_none,
                cache_entry_expires_after_ttl,
                set_replaces_value_and_ttl,
                deleted_key_is_none,
                deleting_missing_key_is_ok,
                increment_counts_from_one,
                counters_are_independent_per_key,
                counter_window_is_fixed,
                concurrent_increments_are_not_lost,
            }
            queue {
                empty_queue_claims_none,
                enqueued_job_is_claimed,
                jobs_are_claimed_oldest_first,
                claims_go_to_the_owner_served_least_recently,
                claimed_job_is_not_claimed_again,
                concurrent_claims_hand_each_job_out_once,
                completed_job_is_gone,
                expired_lease_is_reclaimed_with_one_more_delivery,
                reclaim_expired_counts_only_lapsed_jobs,
                unexpired_lease_is_not_reclaimed,
                heartbeat_keeps_lease_alive,
                late_heartbeat_before_reclaim_keeps_the_job,
                stale_claim_cannot_complete,
                completed_claim_is_no_longer_current,
                released_job_is_claimable_at_once,
            }
            events {
                publish_without_subscribers_is_ok,
                subscriber_sees_own_events,
                subscriber_sees_only_own_events,
                events_arrive_in_order,
                events_before_subscribing_are_not_delivered,
                every_subscriber_of_an_owner_sees_each_event,
                every_event_kind_is_delivered_unchanged,
                slow_subscriber_never_blocks_publishers,
            }
        }
    };
}

/// Expands `module { behaviour, ... } ...` into test modules; the list lives in
/// [`conformance_suite!`](crate::conformance_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($($module:ident { $($behaviour:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $behaviour() {
                        // `None`: the backend's server is not there (the fixture said so).
                        let Some(fixture) = super::__modelyard_conformance_fixture().await else {
                            return;
                        };
                        if fixture.covers(stringify!($module)) {
                            $crate::testkit::$module::$behaviour(&fixture).await;
                        }
                    }
                )*
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every `pub async fn` of every behaviour module, as `module::name`.
    fn behaviours() -> BTreeSet<String> {
        let modules = [
            ("users", include_str!("users.rs")),
            ("records", include_str!("records.rs")),
            ("models", include_str!("models.rs")),
            ("runs", include_str!("runs.rs")),
            ("history", include_str!("history.rs")),
            ("notifications", include_str!("notifications.rs")),
            ("blobs", include_str!("blobs.rs")),
            ("cache", include_str!("cache.rs")),
            ("queue", include_str!("queue.rs")),
            ("events", include_str!("events.rs")),
        ];
        let mut all = BTreeSet::new();
        for (module, source) in modules {
            for line in source.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name = rest.split('(').next().unwrap_or_default();
                    all.insert(format!("{module}::{name}"));
                }
            }
        }
        all
    }

    /// Every `module::name` the macro lists.
    fn listed() -> BTreeSet<String> {
        let source = include_str!("suite.rs");
        let list = source
            .split("$crate::__conformance_tests! {")
            .nth(1)
            .and_then(|rest| rest.split("\n    };").next())
            .unwrap_or_default();
        let mut all = BTreeSet::new();
        let mut module = "";
        for line in list.lines().map(str::trim) {
            if let Some(name) = line.strip_suffix(" {") {
                module = name;
            } else if let Some(name) = line.strip_suffix(',') {
                all.insert(format!("{module}::{name}"));
            }
        }
        all
    }

    #[test]
    fn every_behaviour_is_in_the_suite_exactly_as_written() {
        let behaviours = behaviours();
        assert!(behaviours.len() > 50, "the behaviour modules were read: {behaviours:?}");
        assert_eq!(listed(), behaviours, "conformance_suite! must list every behaviour");
    }
}
