// Package zohodesk is Horizon's Zoho Desk API v1 client: it implements
// helpdesk.Provider over the real REST API through the shared transport
// (one http.Client, client-side limiter, retries for 429/5xx/timeouts
// honouring Retry-After, metrics, credential-free errors).
//
// Wire facts relied on (shared/psa/zohodesk-halopsa.md, tags as there):
//
//   - Hosts per data centre, Desk and Accounts [C-off/C-code]; BaseURL
//     replaces both (the sandbox serves /oauth/v2/token and /api/v1 on
//     one host), AccountsURL the Accounts host only. api_domain from the
//     token answer is never used [3P].
//   - OAuth refresh-token grant at {accounts}/oauth/v2/token, parameters
//     in the request (AuthStyleInParams) [C-off]; tokens live 1 h and are
//     cached until shortly before expiry, one grant at a time per process
//     (callers waiting on a grant share its token or its failure), and,
//     with Config.TokenCache (the store), shared sealed with the account's
//     other processes. A 429 or 5xx from the token endpoint is retried
//     after its Retry-After (bounded by Tuning.MaxRetryAfter), as data
//     calls are, and a pause it asks for holds every caller; grant errors come
//     as HTTP 200 {"error":"invalid_code"} [3P] and are reported as
//     ErrUnauthorized naming the refreshToken/clientId/clientSecret
//     settings, never their values; "Access Denied" (10 tokens per refresh
//     token per 10 min [C-off]) is ErrRateLimited. A 401 INVALID_OAUTH
//     forces one refresh, only when the refused token is the cached one.
//   - Authorization: Zoho-oauthtoken <token> and the orgId header on every
//     call but GET /organizations [C-off]; 403 OAUTH_ORG_MISMATCH names
//     the orgId setting [3P]. Ping lists organisations (their id is a JSON
//     number [C-code]) and checks orgId is among them.
//   - Paging by from/limit; limit ≤ 100 for tickets, comments and time
//     entries, 99 for contacts/accounts (OAS), 200 for agents/departments;
//     from ≤ 4999, else 422 [3P]; an empty list is 204 with no body
//     [C-off], and paging also stops on a short page, never on "count".
//     A 200 with an empty body, null, or no data array is a broken answer,
//     retried and then an error, never the end of a listing. A record that
//     does not decode is reported to Query.Skip and left out. So is a record
//     larger than MaxRecordBytes (1 MiB).
//   - Incremental sync: GET /tickets/search?modifiedTimeRange=a,b
//     &sortBy=-modifiedTime [C-off range format]. Paging seeks: after each
//     full page the range's upper bound moves to the oldest modifiedTime
//     seen and from restarts at 0 (ids at that boundary are de-duplicated),
//     so from stays far below 4999 however many tickets match and a ticket
//     modified mid-walk cannot shift an unread one past an offset.
//     /contacts/search and /accounts/search are walked the same way [INF].
//     List endpoints (agents, departments, comments, time entries) start at
//     from=0 and de-duplicate by id, so either reading of from (0- or
//     1-based: the OAS says lists default to 1) loses nothing [INF].
//   - Statuses, priorities and types (classification) are the
//     allowedValues of GET /organizationFields?module=tickets (status
//     items carry statusType) [C-code]; values have no ids, so a value's id
//     is its name and status updates send the name. Departments are
//     GET /departments. No picklist can be created through the API.
//     Search results carry departmentId without its name (include is a
//     GET /tickets parameter, not a search one): ticket queues are named
//     from the departments list, kept an hour and reloaded early (at most
//     once a minute) when a ticket names an unknown department.
//   - APIUser is GET /myinfo, the agent the token was granted by [3P].
//   - PATCH /tickets/{id} with status and assigneeId returns the whole
//     ticket [C-code]. Comments are notes (isPublic false = internal,
//     always sent) [C-code]. Time entries: GET|POST
//     /tickets/{id}/timeEntry [C-off]; the OAS examples send executedTime
//     and createdTime as epoch ms and counters as strings, the schema says
//     ISO: both are read. Description ≤ 100 characters (longer notes are
//     cut). Time entries have no org-wide list: TimeEntries walks the
//     tickets modified since T and lists each one's entries (cost: one
//     search call per 100 tickets plus one call per ticket).
//   - Agents carry emailId, not email [C-code]; the client lists
//     status=ACTIVE and status=DISABLED so disabled agents are seen whether
//     or not an unfiltered list includes them [INF].
//   - Errors are {"errorCode","message","errors":[{fieldName,errorType,
//     errorMessage}]} [C-off]; the message and field errors are kept.
//   - Webhooks: /webhooks with subscriptions keyed by event name,
//     includeEventsFrom ["AUTOMATION"] and ignoreSourceId [C-off]; Zoho
//     validates the URL with a GET then a POST on create and URL change, so
//     Horizon's receiver must answer GET with 200 [C-off]. Zoho signs
//     nothing (X-ZDesk-JWT is [3P] and ignored): the registered URL carries
//     the callback secret as ?token= (or the last path segment) and
//     VerifyCallback compares it in constant time; the Fingerprint is read
//     back from that URL, so a rotated secret shows as a change.
//     Deliveries are JSON arrays of {eventType, orgId, eventTime, payload}
//     [C-code]; eventTime is read as epoch ms or ISO [INF].
//   - The header that tags API calls with a source id (for ignoreSourceId)
//     is not documented [UNKNOWN]: the client sends
//     DefaultSourceIDHeader (X-ZDesk-Source-Id) on every write [INF];
//     Config.SourceIDHeader changes it.
//   - IDs are int64 sent as JSON strings; times ISO-8601 UTC with millis
//     [C-off].
//
// Confirmed here against the official OAS (zoho/zohodesk-oas,
// v1.0/TicketTimeEntry.json): time entry objects have no modifiedTime
// (UpdatedAt falls back to createdTime), list filters accept
// modifiedTimeRange, hours/minutes/seconds may be strings or numbers,
// parent{id} names the ticket, and the request body allows no unknown
// fields.
//
// The client is not a syncer.Resumer, so an interrupted backfill starts
// again from page 1: Zoho Desk's list and search endpoints page by offset
// (from, which stops at 4999) and sort by times only (sortBy:
// modifiedTime, createdTime, ...); no parameter selects the records after
// an id or orders by id [C-off R1, 3P R8]. PSATime (syncer.PSAClock)
// reads Zoho's clock from the Date header of its latest answer.
package zohodesk
