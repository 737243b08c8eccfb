//! The portable schema: only types both backends share (see migrations/).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        password_hash -> Text,
        is_admin -> Bool,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        client_type -> Text,
        secret_hash -> Nullable<Binary>,
        grant_types -> Text,
        redirect_uris -> Text,
        scopes -> Text,
        audience -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (sid) {
        sid -> Text,
        user_id -> Text,
        client_id -> Nullable<Text>,
        kind -> Text,
        scope -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        access_expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Binary,
        jti -> Text,
        sid -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        created_at -> Timestamp,
        signs_from -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> sessions (sid));

diesel::table! {
    revocations (seq) {
        seq -> BigInt,
        sid -> Text,
        revoked_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        at -> Timestamp,
        kind -> Text,
        actor -> Nullable<Text>,
        subject -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    api_tokens (token_hash) {
        token_hash -> Binary,
        sid -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> sessions (sid));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    users,
    clients,
    sessions,
    refresh_tokens,
    signing_keys,
    revocations,
    events,
);
