mod accounts;
mod auth;
mod isolation;
mod limits;
mod operations;
mod realtime;
mod sync;
