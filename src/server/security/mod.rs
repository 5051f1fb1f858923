//! Who may use the dashboard and from where: the admin's JWT (`auth`: token checks, the
//! caller, the login redirect), the browser-facing rules (`web`: same-origin checks for
//! mutating requests, CSP with nonce, frame ancestors, security headers), and how both are
//! configured (`settings`).

pub mod auth;
pub mod settings;
pub mod web;
