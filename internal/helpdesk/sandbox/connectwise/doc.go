// Package connectwise is the sandbox emulator of the ConnectWise Manage
// (ConnectWise PSA) REST API 3.0: an http.Handler over a *sandbox.World
// that speaks ConnectWise's wire format, for tests, benchmarks and the
// quick start (`reconciler sandbox --provider connectwise`).
//
// It is written from the wire facts in
// /work/shared/psa/connectwise-autotask.md (part A and C) and shares no
// code with the client in internal/helpdesk/connectwise, so a misreading
// on one side fails a contract test instead of agreeing with itself.
//
// What it serves:
//
//   - GET /login/companyinfo/{companyId} without auth, reporting
//     Settings.Codebase (default v2025_1/); the API answers under that
//     codebase and, unless Settings.NoAlias, the v4_6_release/ alias. Any
//     other codebase is a 404, as a wrong codebase is on CW cloud.
//   - Basic auth companyId+publicKey:privateKey and the clientId header on
//     every API call; failures are 401 in CW's error body
//     {"code","message","errors"}; Settings.DenyPaths answers 403.
//   - Lists with conditions (strings quoted, datetimes in square
//     brackets, AND/OR, parentheses, = != < <= > >= contains like in not;
//     unknown fields and mistyped literals are 400), orderBy, navigable
//     paging (page/pageSize, Link first/prev/next/last, next and prev left
//     out where they do not apply) and forward-only paging
//     (pagination-type: forward-only, pageId, no orderBy, a Link next
//     always). pageSize defaults to 25; over 1000 is a 400 unless
//     Settings.ClampPageSize; Settings.PageCap caps pages below what was
//     asked. fields (partial responses) keeps the named top-level fields.
//     Unknown query parameters and body fields are 400 unless
//     Settings.AllowUnknownFields (stricter than CW, on purpose).
//   - Tickets (list, count, get, create 201, JSON-Patch 200 with whole
//     reference objects only, delete 204), notes, time entries
//     (chargeToType ServiceTicket), members, /system/myMembers (the
//     World's API member, whose keys every request carries), contacts,
//     companies, boards
//     with statuses (creatable) and types, priorities, and
//     /system/callbacks CRUD.
//   - Callback deliveries for changes made through the API and through the
//     World's Go API ("in the PSA UI"): PascalCase body with Entity as a
//     JSON string (null on delete), Type lowercase, Action
//     added|updated|deleted, Metadata.key_url (with the double slash seen
//     in real deliveries), signed x-content-signature =
//     base64(HMAC-SHA256(SHA256(signing key), body)); the record id is
//     appended to the registered URL; CW's retry policy (5 s timeout,
//     retries on 404/409/419/429 after 2 s and 4 s, scaled by
//     sandbox.Options.DeliveryScale); a registration failing for three
//     days (World clock) is disabled. isSelfSuppressedFlag suppresses
//     callbacks caused by the registering API member (an inferred reading,
//     Settings.IgnoreSelfSuppression turns it off); skipCallback on a
//     ticket create suppresses that write's callback.
//   - Fault injection through sandbox.Faults with CW's own 429 body and
//     Retry-After, and page faults (sandbox.PageFault: an empty, null,
//     truncated or HTML body, an oversized page or field, a wrong-typed
//     record on a chosen page of a list); discovery and the signing key
//     bypass faults.
//
// Not served: /search, childConditions, customFieldConditions, nested
// fields (400 "not supported by the sandbox"), project tickets, PUT on
// tickets.
package connectwise
