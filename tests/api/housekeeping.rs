//! Housekeeping deletes what has expired, and nothing else.

use chrono::TimeDelta;
use diesel::prelude::*;
use serde_json::Value;
use tessera::oauth::housekeeping::{self, Report};
use tessera::store::schema::{refresh_tokens, revocations, sessions};

use crate::helpers::{unverified_parts, TestApp};

const PW: &str = "correct horse battery";

backend_tests! {
    async fn deletes_what_has_expired_and_nothing_else(backend) {
        // 1. Two sessions: one live and rotated once (a retired token row and a live one),
        //    one revoked (a feed entry).
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let live = app.login(&client, "alice", PW).await;
        let rotated: Value = app.refresh(&client, live["refresh_token"].as_str().unwrap()).await.json().await.unwrap();
        let revoked = app.login(&client, "alice", PW).await;
        app.post_form("/oauth/revoke", &client, &[("token", revoked["refresh_token"].as_str().unwrap())]).await;
        let (_, live_claims) = unverified_parts(live["access_token"].as_str().unwrap());
        let live_sid = live_claims["sid"].as_str().unwrap().to_owned();
        let ttl = app.settings.refresh_token_ttl;

        // 2. Now: nothing has expired, nothing goes.
        let report = app.with_db(move |conn| housekeeping::run(conn, tessera::domain::now(), ttl).unwrap()).await;
        assert_eq!(report, Report::default());
        assert_eq!(counts(&app).await, (2, 3, 1));

        // 3. Six minutes on, every access token has expired: the revoked session and its feed
        //    entry go; the live session and both its refresh tokens stay (reuse detection
        //    still needs the retired one).
        let later = tessera::domain::now() + TimeDelta::minutes(6);
        let report = app.with_db(move |conn| housekeeping::run(conn, later, ttl).unwrap()).await;
        assert_eq!(report, Report { refresh_tokens: 0, sessions: 1, revocations: 1, authorization_codes: 0 });
        assert_eq!(counts(&app).await, (1, 2, 0));
        let remaining: String = app.with_db(|conn| sessions::table.select(sessions::sid).first(conn).unwrap()).await;
        assert_eq!(remaining, live_sid);
        assert_eq!(app.refresh(&client, rotated["refresh_token"].as_str().unwrap()).await.status(), 200);

        // 4. Two days on, the refresh tokens have expired and the idle session has ended.
        let much_later = tessera::domain::now() + TimeDelta::days(2);
        let report = app.with_db(move |conn| housekeeping::run(conn, much_later, ttl).unwrap()).await;
        assert_eq!(report.refresh_tokens, 3);
        assert_eq!(report.sessions, 1);
        assert_eq!(counts(&app).await, (0, 0, 0));
    }
}

/// (sessions, refresh tokens, feed entries)
async fn counts(app: &TestApp) -> (i64, i64, i64) {
    app.with_db(|conn| {
        (
            sessions::table.count().get_result(conn).unwrap(),
            refresh_tokens::table.count().get_result(conn).unwrap(),
            revocations::table.count().get_result(conn).unwrap(),
        )
    })
    .await
}
