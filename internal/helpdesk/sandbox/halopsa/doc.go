// Package halopsa is the HaloPSA emulator of Horizon's sandbox: an
// http.Handler that renders a sandbox.World in Halo's wire format, for
// tests, benchmarks and `reconciler sandbox --provider halopsa`. It is
// written from the wire facts (/work/shared/psa/zohodesk-halopsa.md part B
// and section C) and shares no code with the client in
// internal/helpdesk/halopsa.
//
// What it serves:
//
//   - POST /auth/token: client credentials in the form body (credentials
//     sent only in a Basic header are refused), ?tenant= required unless
//     OnPremise, scope required; 401 {"error":"invalid_client"} for wrong credentials, 400
//     with invalid_request, unsupported_grant_type or invalid_scope
//     otherwise. Tokens are opaque, expire on the World's clock after
//     TokenLifetime, and RevokeTokens forgets them all. GET /api/authinfo
//     answers the discovery document.
//   - /api/...: paths matched case-insensitively; every call needs a live
//     Bearer token (else 401 {"Message": "Authorization has been denied
//     for this request."}). Tickets (list with paging, lastupdatefromdate,
//     lastupdatetodate, open_only, closed_only, client_id, agent_id,
//     order, orderdesc, includedetails; get; array upsert; delete),
//     Actions (list and get by ticket_id; create notes and time),
//     Client and Users (paged, includeactive/includeinactive), Agent
//     (bare array, includeenabled/includedisabled, /Agent/me), Status,
//     TicketType, Team, Priority, Outcome, and Webhook (list, get, array
//     upsert by uuid, delete).
//   - Paging caps page_size at MaxPageSize (100) without an error, as Halo
//     does; page_size or page_no below 1, malformed dates, booleans and
//     integers, and unknown order columns are 400s with field-keyed
//     bodies.
//   - Strictness: POST bodies must be non-empty arrays of objects
//     ({"resultCode","errorMessage"} 400 otherwise); unknown fields,
//     wrong types, unknown references (client, user, agent, team, status
//     or type not allowed in the ticket's team, priority, outcome, event
//     names) are 400s keyed "[i].field". All items are validated before
//     any is saved.
//
// The World's per-queue statuses and types are rendered as Halo's global
// ones, merged by name; the status named Closed takes Halo's Closed id
// (9). A posted status or type id maps back to the same-named value of
// the ticket's team.
//
// Webhooks: every World change (through the API or "in the PSA UI" via
// the World's Go API) fires New Ticket Logged, Ticket Updated, Ticket
// Deleted or Action Added to each active outbound registration subscribed
// to it, in the payload recorded from a live tenant (id, webhook_id,
// notification_id, escmsg_id, event, message, object_id, agent_id,
// timestamp with seven fractional digits, ticket, and action for action
// events), authenticated with Basic when the registration says so. Halo
// has no echo suppression, so changes made through the API are delivered
// too, with agent_id naming the API agent. Deliveries go through
// sandbox.Deliverer with WebhookRetry (Halo documents no schedule;
// DefaultRetryPolicy), scaled by Options.DeliveryScale; a registration
// disables itself after auto_disable_attempts consecutive failures.
// Faults come from sandbox.Faults, with Halo's bodies: a plain-text 429
// (with Retry-After when set), a .NET exception 500, truncated bodies,
// latency and dropped webhooks; the token endpoint is exempt.
//
// SetPageFaults breaks chosen list pages (a 200 with no body, null, HTML
// or a cut-off page); Settings.MalformedTicket sends one ticket with a
// field of the wrong type; Settings.NoStatuses answers /Status with [] as
// for an agent without the permission.
//
// Behaviour the wire facts only infer is a Settings field, the inferred
// reading being the default: inclusive lastupdatefromdate
// (LastUpdateExclusive), a single object answering a one-item save
// (ArrayResponses), the {"record_count","actions"} envelope
// (BareActions), priorities keyed priorityid and repeated per SLA
// (PriorityIDField, SLAs), datetimes with a Z (OmitTimeZone), unknown
// POST fields rejected (AcceptUnknownFields), an unknown id in a ticket
// POST creating a ticket (UnknownIDRejected), the page size echoed in the
// envelope (ReportRequestedPageSize), includedetails honoured on lists
// (ListOmitsDetails), type=ticket naming the ticket statuses
// (StatusTypeNumeric), full payloads (EventOnlyPayload),
// batching into arrays (BatchWindow) and the webhook event names and
// [{"name": ...}] event shape.
package halopsa
