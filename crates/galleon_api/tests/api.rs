//! In-process tests of the whole ARM surface: the real router and core over a temporary SQLite
//! store, driven request by request; background jobs run when a test says so.

#![allow(unreachable_pub)] // test modules share helpers across files

mod api {
    pub mod activity_log;
    pub mod auth;
    pub mod content;
    pub mod deployments;
    pub mod errors;
    pub mod events;
    pub mod explain_latest;
    pub mod faults;
    pub mod galleries;
    pub mod generic;
    pub mod graph;
    pub mod groups;
    pub mod images;
    pub mod inproc_client;
    pub mod load;
    pub mod metrics;
    pub mod portal;
    pub mod rbac;
    pub mod retention;
    pub mod sharing;
    pub mod soft_delete;
    pub mod support;
    pub mod upgrade;
    pub mod versions;
}
