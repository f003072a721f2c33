//! The studio's integration tests: its HTTP API against a real database,
//! and the page in a real browser (headless Chromium over WebDriver).

mod api;
mod browser;
mod support;
