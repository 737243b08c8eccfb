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
        first_party -> Bool,
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
        browser_session -> Nullable<Binary>,
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
// No foreign key in the database (a deleted user's revoked sessions stay for the feed), but
// the relation holds for joins.
diesel::joinable!(sessions -> users (user_id));

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

diesel::table! {
    browser_sessions (id_hash) {
        id_hash -> Binary,
        user_id -> Text,
        auth_time -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Binary,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        code_challenge -> Nullable<Text>,
        nonce -> Nullable<Text>,
        auth_time -> Timestamp,
        browser_session -> Nullable<Binary>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        sid -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    browser_sessions,
    authorization_codes,
    consents,
    users,
    clients,
    sessions,
    refresh_tokens,
    signing_keys,
    revocations,
    events,
);
