// Package consent is optin's domain: contacts, message categories, the
// consent each contact gives per category, and the append-only events that
// prove it.
//
// The consent lifecycle: a person opts in to one or more categories (through
// the web form, a link or QR code, a WhatsApp reply, an admin, the API or an
// import). Each change is recorded as an Event carrying its evidence (the exact
// wording shown, referenced by SHA-256, the source, IP and user agent or the
// WhatsApp message id) and the per-category Consent state is derived from
// those events in the same transaction. In double opt-in mode the state stays
// Pending until the person confirms from the welcome message. Opting out, a
// STOP keyword or a provider-reported marketing stop moves the state to
// OptedOut; erasure removes the contact and leaves only a tombstone.
//
// Messages to people leave through a durable outbox: a consent change and the
// message it causes are committed together, and the Dispatcher sends them at
// a bounded rate, retrying by the provider's error class.
//
// The package declares the interfaces it needs (Store, Sender, Clock) and
// imports neither database/sql nor net/http.
package consent
