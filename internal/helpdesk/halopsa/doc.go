// Package halopsa is Horizon's client for the HaloPSA REST API. It
// implements helpdesk.Provider: streams of tickets, contacts (Halo users),
// companies (Halo clients), time entries and members (Halo agents), ticket
// reads and upserts, notes and time as actions, picklists (statuses,
// ticket types, priorities, teams), webhook registrations, and the
// verification and parsing of inbound webhook deliveries.
//
// Every request goes through the shared transport: one http.Client with
// timeouts, a client-side limiter of one request a second with a burst of
// three by default (hosted Halo allows about 300 requests per rolling five
// minutes), retries of 429, 5xx, timeouts and broken bodies honouring
// Retry-After, none for other 4xx, and request metrics. No error or log
// line carries a credential: token failures are rebuilt from the OAuth
// error code alone, and a webhook secret a server might echo is blanked.
//
// # Wire facts relied on
//
// From /work/shared/psa/zohodesk-halopsa.md part B and section C. Tags as
// there: [C-off] Halo's own guides, [C-code] working public clients
// (HaloAPI R14, n8n R15, halopsa-node R17, a recorded payload R18), [3P]
// one third-party source, [INF] inference. "Checked" marks a fact re-read
// in the public source while writing this package; [INF] facts are
// settings of the emulator (sandbox/halopsa) and the client accepts every
// reading of them.
//
//   - Auth: client-credentials grant, POST {base}/auth/token?tenant=x
//     (no tenant on premise), form body grant_type, client_id,
//     client_secret, scope=all; Bearer access tokens with expires_in
//     [C-code]. Done with x/oauth2/clientcredentials, AuthStyleInParams;
//     the token is cached until expiry (less oauth2's ten-second margin)
//     and dropped on a 401, after which the request is retried once with
//     a new token. A refused token request is not retried and says to
//     check clientId, clientSecret and tenant. With Config.TokenCache (the
//     store), the token is shared, sealed, with the account's other
//     processes. Config.AuthURL covers
//     tenants with a separate auth host [C-code: n8n keeps authUrl apart].
//   - Paths are case-insensitive [C-code]; the client uses Halo's
//     capitalised names (/Tickets, /Actions, /Client, /Users, /Agent).
//   - Paging: pageinate=true&page_size&page_no (1-based), envelope
//     {page_no, page_size, record_count, <plural key>} [C-code]. Halo caps
//     page_size at 100 whatever is asked [LESSONS R19, HaloAPI #90, not in
//     the wire doc, which calls the maximum UNKNOWN]. The client stops on
//     an empty page, on a page shorter than the size in force, learnt from
//     the first page (the envelope's smaller page_size, or the first
//     page's length when the envelope is silent or echoes a size beyond
//     the cap), and once the records read reach the latest record_count
//     (Halo's clients loop to it [C-code]), so no request goes past it. A
//     page repeating the previous one ends the stream with an error
//     instead of looping. A 200 with an empty body, null, or an envelope
//     without its array is a broken answer, retried and then an error,
//     never the end of a listing.
//   - Ticket lists ask includedetails=true (a GET /Tickets parameter
//     [C-code]) so list syncs carry descriptions; a listed ticket still
//     without details is read alone, so a listing never blanks one.
//     Status, priority and ticket type names are resolved from the
//     picklists, kept an hour and reloaded early (at most once a minute)
//     when a ticket names an unknown id. A record that does not decode is
//     reported to Query.Skip and left out. So is a record
//     larger than MaxRecordBytes (1 MiB).
//   - Incremental tickets: lastupdatefromdate in yyyy-MM-ddTHH:mm:ssZ UTC
//     [C-code, checked: R14 formats dates so]. Whether the bound is
//     inclusive is [INF]: the client sends Since truncated to the second
//     and drops records not updated strictly after Since, so both readings
//     give the same result. Tickets are ordered by id (order=id), not
//     last_update [INF ordering key]: an id order does not shift when a
//     ticket is edited mid-walk, a last_update order would skip one.
//   - Users, clients and agents have no documented last-updated filter:
//     Contacts, Companies and Members return everything each time
//     (IncrementalMembers is false). Their include switches are
//     [C-code, checked in R14 Get-HaloUser/Get-HaloClient/Get-HaloAgent]:
//     includeactive and includeinactive on /Users and /Client,
//     includeenabled (default true) and includedisabled on /Agent. Without
//     them Halo would hide inactive contacts and disabled agents.
//   - Upserts: POST /Tickets and /Actions take a JSON array; an id
//     updates, no id creates; only the fields sent change [C-code; partial
//     semantics INF]. An unknown id may create instead of failing, so
//     UpdateTicket reads the ticket first, as R14 does. The answer is the
//     saved object for one item, maybe an array for several [INF]: both are
//     read.
//   - Actions: GET /Actions?ticket_id= answers {record_count, actions}
//     [INF key] or a bare array; both are read. Notes are actions with
//     outcome Config.NoteOutcome ("Private Note" by default; outcomes are
//     tenant-configured [INF]), hiddenfromuser for internal notes, and
//     sendemail false. Time is an action with timetaken in decimal hours,
//     split into actionchargehours/actionnonchargehours [C-code]; there is
//     no last-updated filter on actions, so TimeEntries walks the tickets
//     updated since Since and lists each one's actions (one request per
//     ticket).
//   - Closed: Halo has one Closed status [C-code: R14's excludeclosed
//     "excludes the closed status"], id 9 in a default install [INF,
//     agreeing with R18's payload where status_id 9 has hasbeenclosed
//     true]; Config.ClosedStatusID changes it. hasbeenclosed is not used:
//     its name suggests "was ever closed".
//   - Picklists: GET /Status?type=ticket [C-code, checked] (asked again
//     without type when that answers none: a server reading type as the
//     numeric status type matches nothing for "ticket" [INF]), /TicketType,
//     /Team, /Priority; bare arrays [INF] or envelopes. Priority entries
//     carry their id as priorityid or id and repeat per SLA [INF]: both
//     keys are read and repeats dropped. Halo's statuses and types are
//     global, so picklists have no scope. No endpoint to create them is
//     documented: CreatePicklistValue is ErrUnsupported. Departments are
//     not listed: no endpoint is in the facts.
//   - Errors: {"resultCode","errorMessage"}, {"ClassName","Message"},
//     {"Message"}, {"error"} and field-keyed 400s ({"[0].id": "..."}) and
//     plain text are all read for the message [C-code].
//   - Webhooks: GET /Webhook, POST /Webhook (array, upsert by uuid id),
//     DELETE /Webhook/{id} [3P R16, R17]. Horizon registers one outbound
//     webhook (type 0, method 0 POST, application/json), Basic auth
//     (authentication_type 1, basic_username "horizon", basic_password the
//     callback secret) [C-off R19 documents Basic; the numeric codes are
//     3P], no batching. The create POST carries a client-generated UUID so
//     that a retried create upserts instead of duplicating [INF: whether
//     Halo keeps a client id is unknown; its answer's id is used]. Events
//     are posted as [{"name": "..."}] and read back from objects (name,
//     event, event_name) or strings [INF shape]; the event names New
//     Ticket Logged, Ticket Updated and Action Added are [INF]. Halo does
//     not return basic_password [INF], so the name carries "fp:" and eight
//     hex digits of a SHA-256 of the secret; a rotated secret shows as a
//     changed name.
//   - Deliveries: Halo does not sign [C-off R19]: VerifyCallback requires
//     the registered Basic credential, compared in constant time. Payload
//     {id, webhook_id, notification_id, escmsg_id, event, message,
//     object_id, agent_id, timestamp (7 fractional digits, Z), ticket,
//     action?} [C-code R18, recorded on a live tenant]; "event information
//     only" keeps id, event, object_id, webhook_id [C-off]. Batching sends
//     an array [INF shape]: ParseCallback reads one object or an array.
//     No signed timestamp exists, so replay protection is dedup on id plus
//     re-fetch (LESSONS 3.1).
//   - Echoes: Halo documents no echo suppression, and writes through the
//     API are attributed to the agent the API application acts as
//     [C-code]. The client tags nothing; ParseCallback reports agent_id as
//     Actor [INF: that agent_id is the actor, not the assignee], and Me
//     returns the API agent, so the callback layer can drop echoes.
//   - Resume: the client is not a syncer.Resumer, so an interrupted
//     backfill starts again from page 1. Halo's documented list parameters
//     page by page_no (an offset) and filter on dates [C-code R14]; no
//     filter selects the records after an id, and the ordering key for
//     ids is not documented. Resuming at a page number is not safe: a
//     record deleted, or moved out of the window, between the crash and
//     the restart shifts every later page and one record would be
//     skipped.
//   - Clock: PSATime reads Halo's clock from the Date header of its
//     latest answer (syncer.PSAClock).
package halopsa
