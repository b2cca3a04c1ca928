mod accounts;
mod auth;
mod bulk;
mod isolation;
mod limits;
mod operations;
mod realtime;
mod sync;
