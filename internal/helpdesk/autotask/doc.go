// Package autotask is Horizon's client for the Autotask PSA REST API
// (ATServicesRest v1.0). It implements helpdesk.Provider over the shared
// transport (one http.Client, retries, metrics) with Autotask's limits:
// at most MaxConcurrent requests in flight and a client-side limiter that
// slows as the tenant's hourly threshold nears.
//
// The client is written from the wire facts in shared/psa/
// connectwise-autotask.md (PART B) and shares no code with the emulator in
// sandbox/autotask. Confidence tags: [D] vendor documentation, [K] public
// client code or fixtures, [I] inferred. What it relies on:
//
// Zone and auth
//   - Zone discovery: unauthenticated GET {webservices}/atservicesrest/
//     v1.0/zoneInformation?user=<username> answers {"url": ...} without a
//     version [D][K]; the client appends V1.0 and collapses doubled
//     slashes [K]. An unknown user answers 500 [K]: reported as a
//     configuration error naming the username setting. Config.ZoneURL pins
//     the zone; Config.BaseURL moves discovery and every call to another
//     host (sandbox, staging).
//   - Every call sends ApiIntegrationCode, UserName and Secret [D][K]. A 401
//     triggers one rediscovery; the call is retried once if the zone moved
//     [K] (django-autotask), else the error says which settings to check.
//     No credential value ever appears in an error: the PSA's messages are
//     scrubbed of them, and transport errors carry no URL.
//
// Reading
//   - POST /{Entity}/query with {"filter":[...],"MaxRecords":n}, n ≤ 500
//     [D][K]; at least one condition, "exist id" matching all [K].
//     Incremental fields: Tickets, Contacts, Companies lastActivityDate;
//     TimeEntries lastModifiedDateTime; Resources none, so members are
//     always read in full [K]. Datetimes are sent as
//     yyyy-mm-ddThh:mm:ss.sssZ in UTC [D]; read with or without Z and
//     fractions, a zone-less value being UTC [D][K].
//   - Paging follows pageDetails.nextPageUrl, opaque, until it is null or a
//     page is empty [K]; never a computed count, and a short page with a
//     next URL (a server-side cap [I]) is followed. Next pages are fetched
//     by GET without a body; a 405 there is retried as a POST with the
//     original query (clients do both [K]). A next URL must stay on the API
//     host. Records are de-duplicated by id within a stream, as timestamps
//     repeat [K]. A query answer must be an object with an items list: an
//     empty body, null, HTML, cut-off JSON or a missing items is retried
//     and then fails the stream, never taken for the last page. Records
//     are decoded one by one: one that does not decode, or has a field over
//     Config.MaxFieldBytes, is left out and reported through Query.Skip
//     with its id. An answer over Config.MaxResponseBytes fails the stream.
//   - GET /{Entity}/{id} answers {"item":null} for a missing id [K]:
//     ErrNotFound. Only that: an empty body, null, HTML or an object
//     without "item" is retried and then an error.
//   - Picklists are the Tickets fields status, priority, queueID and
//     ticketType in GET /Tickets/entityInformation/fields; values are
//     strings there and integers on entities [K]. Status 5 is Complete
//     (closed) [K]. No picklist can be created: ErrUnsupported. Tickets
//     carry values only, so their status, priority, type and queue are
//     named from these labels, kept per client for Config.PicklistTTL
//     (15 minutes) and read again sooner when a ticket holds a value the
//     labels lack.
//   - The API user (APIUser) is Config.APIResourceID or the resource whose
//     userName or email is the configured username.
//
// Writing
//   - POST /{Entity} and PATCH /{Entity} (id in the body, changed fields
//     only) answer {"itemId":N} [D][K]; the record is then read back.
//   - An assignment sends assignedResourceRoleID with assignedResourceID,
//     taken from the resource's defaultServiceDeskRoleID: Autotask refuses
//     one without the other [K]. Time entries send roleID the same way [I].
//   - Notes: POST /Tickets/{id}/Notes [D][K]; listed via TicketNotes/query
//     by ticketID [K]. noteType and publish values are tenant-specific [K]:
//     the client reads the TicketNotes picklists and treats publish values
//     labelled "internal" as internal [I].
//   - Time entries: POST /TimeEntries; isNonBillable is [I].
//
// Errors
//   - Bodies are {"errors":["..."]} [K] (objects with message/field are
//     read too). 500 is used for business-rule failures [K]: ErrInvalid,
//     unless the message names the threshold or thread limit, or the body
//     is not an error body (then transient). 429 is throttling [K]; the
//     code for a request refused at the threshold is undocumented [I], so
//     both readings are handled.
//   - GET /ThresholdInformation [K/I] is read every ThresholdCheckEvery
//     calls: above half the 10,000/hour threshold [D] the limiter paces the
//     remaining budget over the window.
//
// Webhooks
//   - One registration per entity: TicketWebhooks, TicketNoteWebhooks,
//     ContactWebhooks, CompanyWebhooks [D]; none for time entries. Create
//     is POST, then POST .../{id}/Fields (none → never ready [D]), then POST
//     .../{id}/ExcludedResources with the API user's resource, found by
//     querying Resources for the username, so Horizon's own writes do not
//     echo [K]. Names are "horizon <account> <key> [<fingerprint>]" within
//     50 characters [D]; SecretKey (≤ 64 [D]) is not read back [I], so a
//     digest of it in the name shows a rotation. Webhook IDs are
//     "<key>:<id>". The webhook field picklist's label format is [I]: names
//     are matched loosely.
//   - Deliveries are verified with X-Hook-Signature: sha1=base64(HMAC-SHA1(
//     SecretKey, raw body)) [D][K], compared in constant time. The payload
//     (Action, Guid, EntityType, Id, Fields, EventTime, SequenceNumber,
//     PersonID) is read case-insensitively with numbers as numbers or
//     strings [K]; a "Deactivated" notice [K/I] yields no event.
package autotask
