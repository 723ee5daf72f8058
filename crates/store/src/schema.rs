//! The table definitions of every crate, kept to types both backends share. Must match
//! `migrations/sqlite` and `migrations/postgres`.

diesel::table! {
    locations (id) {
        id -> Text,
        #[sql_name = "type"]
        location_type -> Text,
        target -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    refresh_state (entity_id) {
        entity_id -> Text,
        entity_ref -> Text,
        unprocessed_entity -> Text,
        unprocessed_hash -> Text,
        processed_entity -> Nullable<Text>,
        result_hash -> Nullable<Text>,
        errors -> Text,
        location_key -> Nullable<Text>,
        next_update_at -> BigInt,
        last_discovery_at -> BigInt,
    }
}

diesel::table! {
    stitch_queue (entity_ref) {
        entity_ref -> Text,
        due_at -> BigInt,
        first_requested_at -> BigInt,
        ticket -> Text,
        claimed_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_state_references (id) {
        id -> BigInt,
        source_key -> Nullable<Text>,
        source_entity_ref -> Nullable<Text>,
        target_entity_ref -> Text,
    }
}

diesel::table! {
    relations (id) {
        id -> BigInt,
        originating_entity_id -> Text,
        source_entity_ref -> Text,
        #[sql_name = "type"]
        relation_type -> Text,
        target_entity_ref -> Text,
    }
}

diesel::table! {
    final_entities (entity_id) {
        entity_id -> Text,
        entity_ref -> Text,
        hash -> Text,
        final_entity -> Text,
        last_updated_at -> BigInt,
    }
}

diesel::table! {
    search (id) {
        id -> BigInt,
        entity_id -> Text,
        key -> Text,
        original_value -> Nullable<Text>,
        value -> Nullable<Text>,
        sort_kind -> Nullable<Text>,
    }
}

diesel::table! {
    facet_counts (key, value) {
        key -> Text,
        value -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    auth_signing_keys (kid) {
        kid -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    auth_refresh_sessions (token_hash) {
        token_hash -> Text,
        provider -> Text,
        user_entity_ref -> Text,
        ownership_entity_refs -> Text,
        profile -> Text,
        resolution -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Nullable<Text>,
        outcome -> Text,
        details -> Text,
    }
}

diesel::table! {
    task_leases (id) {
        id -> Text,
        settings -> Text,
        next_run_start_at -> Nullable<BigInt>,
        current_run_ticket -> Nullable<Text>,
        current_run_started_at -> Nullable<BigInt>,
        current_run_expires_at -> Nullable<BigInt>,
        last_run_ended_at -> Nullable<BigInt>,
        last_run_error -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    locations,
    refresh_state,
    refresh_state_references,
    stitch_queue,
    relations,
    final_entities,
    search,
    facet_counts,
    auth_signing_keys,
    auth_refresh_sessions,
    audit_events,
    task_leases,
);
