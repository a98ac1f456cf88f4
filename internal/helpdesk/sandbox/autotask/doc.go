// Package autotask emulates the Autotask PSA REST API (ATServicesRest
// v1.0) over a sandbox.World, for tests, benchmarks and the quick start
// (`reconciler sandbox --provider autotask`). It registers itself with
// sandbox.Register.
//
// It is written from the wire facts in shared/psa/connectwise-autotask.md
// (PARTs B and C) and shares no code with the client in
// internal/helpdesk/autotask. It is as strict as the real API where the
// facts are known, and makes each inferred ([I]) behaviour a Settings
// field:
//
//   - Zone discovery at /atservicesrest/v1.0/zoneInformation?user= needs no
//     credentials and answers the zone URL without a version; an unknown
//     user gets 500 with an error body [K]. MoveZone moves the tenant: the
//     old zone answers 401 [K].
//   - Every other call needs ApiIntegrationCode, UserName and Secret [D];
//     paths, header names and JSON property names are case-insensitive.
//     Errors are {"errors":["..."]} [K]: 400 for malformed requests, 401
//     for credentials, 404 for unknown paths, 405 for methods, 500 for
//     business rules [K].
//   - Queries (POST body or GET ?search=) are validated strictly: known
//     properties, at least one condition, MaxRecords 1..500 [D][K], known
//     and queryable fields (creatorType is not [D]), typed values (literal
//     booleans [D]), at most 500 OR conditions [D]. Pages follow id order;
//     nextPageUrl is an opaque URL carrying the whole query, served by GET
//     or POST [K] (Settings.NextPageMethods); PageCap and
//     NextOnFullLastPage model the undocumented edge cases [I].
//   - GET of a missing id answers 200 {"item":null} [K]. POST and PATCH
//     answer {"itemId":N} [K]; PATCH takes the id in the body [D]. An
//     assignment needs assignedResourceRoleID [K] (AssignWithoutRole);
//     hoursWorked must be in (0, 24] [D]; unknown fields are refused [I]
//     (AcceptUnknownFields).
//   - Picklists come from the World: Autotask statuses and types are
//     global, so the per-queue World values are merged by name; New is 1
//     and the first closing status 5 [K].
//   - Limits: 3 concurrent requests per integration code and endpoint [D]
//     (ThreadLimit, ThreadLimitStatus [I]); a rolling hourly threshold of
//     10,000 [D] with optional latency past half [D] and refusals at the
//     limit (ThresholdStatus [I]), reported by GET /ThresholdInformation
//     [K/I]. SetUsage simulates other integrations.
//   - Webhooks: {Ticket,TicketNote,Contact,Company}Webhooks with Fields and
//     ExcludedResources children [D]; a registration without fields is not
//     ready [D]; SecretKey is never returned [I]. Changes to the World, made
//     through this API or "in the PSA UI" through the World's Go API, are
//     delivered when a subscribed field changed [D], signed
//     X-Hook-Signature: sha1=base64(HMAC-SHA1(SecretKey, body)) [D][K],
//     unless the acting resource is excluded [K]; one delivery per entity
//     and URL [D]; 10 s per try, 5 tries 30 s apart (scaled by
//     DeliveryScale), deactivation with a notice to DeactivationUrl after
//     25 consecutive failed deliveries [D][K/I].
//   - Faults (sandbox.Faults) answer in Autotask's format: 429 with an
//     error body and Retry-After, an IIS-style 500 page, 401.
//
// Not emulated: FIFO ordering of deliveries per callout while one is
// retrying [D], the daily failure e-mails, PUT full updates, UDFs,
// IncludeFields paging beyond 500 rows.
package autotask
