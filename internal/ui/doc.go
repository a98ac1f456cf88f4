// Package ui serves the status pages of an account on the admin
// listener: the overview (a green, amber or red verdict per area of the
// integration), the configuration, user mapping, picklist, widget and
// callback pages, the two audit trails (sync runs, callback log), the
// write-back log, and one ticket's troubleshooting page. A Fleet serves
// many accounts: an accounts overview, worst first, and each account's
// pages under its own base, with one token, sign-in and CSRF token.
//
// Pages are rendered on the server with html/template; the stylesheet is
// embedded, so the pages work offline and need no JavaScript. Every
// action (refresh picklists, check widgets, force a ticket sync) is a
// POST carrying a CSRF token, answered with a redirect back to its page.
// An optional admin token guards every page. Secrets never appear: the
// configuration is shown as written (secret references), URLs and
// payloads with credentials redacted.
package ui
