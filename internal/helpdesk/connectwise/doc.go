// Package connectwise is Horizon's client for ConnectWise Manage (ConnectWise
// PSA) over its REST API 3.0. It implements helpdesk.Provider: streams of
// tickets, contacts, companies, time entries and members, ticket reads and
// writes, notes, time entries, picklists (boards, per-board statuses and
// types, global priorities), callback (webhook) registrations, and the
// verification and parsing of inbound callbacks.
//
// Every request goes through the shared transport (one http.Client with
// timeouts, a client-side limiter of 10 requests per second by default,
// retries of 429/5xx/timeouts honouring Retry-After, metrics), and no error
// or log line carries a credential.
//
// # Wire facts relied on
//
// From /work/shared/psa/connectwise-autotask.md part A, which cites the
// ConnectWise Developer Guide (R1), the OpenAPI-generated client
// ai-connor/connectwise (R3) and the callback fixtures of
// amp-labs/connectors (R5). Tags: [D] vendor documentation, [K] public
// client code or fixtures, [I] inferred; "checked" means re-read in the
// source while writing this package.
//
//   - URL shape https://{apiHost}/{codebase}apis/3.0/{module}/{resource};
//     cloud API hosts api-na|api-eu|api-au.myconnectwise.net and
//     api-staging.connectwisedev.com [D, checked in R1]. Config.BaseURL
//     replaces the host (on-premise, sandbox, tests).
//   - Codebase discovery GET https://{site}/login/companyinfo/{companyId}
//     without auth, on the UI host (na.myconnectwise.net, not api-na)
//     [D, checked in R1], PascalCase keys, Codebase like "v2025_1/". The
//     result is cached for the client's life; on failure the client logs a
//     warning and uses "v4_6_release/", which works on cloud and on-premise
//     [D/K].
//   - Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")
//     and a clientId header on every call [D, checked in R1].
//   - conditions grammar: datetimes in square brackets
//     (lastUpdated > [2016-08-20T18:04:26Z]), strings in double quotes,
//     AND/OR [D, checked in R1]. Times are sent in UTC truncated to the
//     second (a little overlap, never a gap).
//   - pageSize default 25, maximum 1,000 (since 2016.2); page starts at 1;
//     Link header (RFC 5988) with rel="next" omitted on the last page
//     [D, checked in R1]. Forward-only paging: header
//     pagination-type: forward-only and pageId (treated as id > pageId), no
//     orderBy, a Link header always present [D, checked in R1]. This
//     client pages forward-only by default (keyset on id, immune to
//     records vanishing mid-walk); Config.Paging selects navigable paging
//     with orderBy=id asc instead. What happens to pageSize over 1,000
//     (400 or clamped) is [I]: the client never asks for more.
//     The client takes only page/pageId from a Link URL and rebuilds the
//     request itself on its own base URL with its own conditions, so a
//     Link pointing at another host or dropping the filter cannot lead it
//     astray. Paging ends on an empty page, on a Link header without
//     rel="next", or on a page shorter than an earlier page; the first
//     page is never judged short, so a server-side cap below the requested
//     size does not end the walk early. Small lists (boards, statuses,
//     types, priorities, callbacks, one ticket's notes) are walked with
//     navigable paging, whose Link header leaves out rel="next" on the
//     last page, so they cost one request, not a second empty one;
//     forward-only paging always sends a next link and so ends only on an
//     empty page.
//   - A list answer must be a JSON array: an empty body, null, HTML or
//     cut-off JSON is retried and then fails the walk, never taken for
//     the end of the data. Records are decoded one by one; one that does
//     not decode, or has a field over Config.MaxFieldBytes, is left out
//     and reported through Query.Skip with its id. A forward-only page
//     over Config.MaxResponseBytes is asked for again in pages an eighth
//     the size, down to one record; a single record over the bound is
//     read as its id alone (fields=id, a partial response [D]), reported
//     through Query.Skip and stepped over. A walk fails only when even
//     that answer is over the bound. No answer over the bound is fetched
//     twice.
//   - The API member is GET /system/myMembers, a MyMember object for the
//     keys' member [K: public clients' MyMembersApi]; read once per client.
//   - PATCH takes a JSON array of {op, path, value}; references are
//     replaced whole ({"op":"replace","path":"status","value":{"id":17}})
//     [D, checked in R1]; 200 on success [D]. POST answers 201 with the
//     record [D], DELETE 204 [D].
//   - Statuses and types are per board (/service/boards/{id}/statuses,
//     /types), priorities global (/service/priorities) [K, R3]. Board
//     statuses are the one picklist this client creates
//     (POST /service/boards/{id}/statuses); the others answer
//     helpdesk.ErrUnsupported.
//   - Callbacks: /system/callbacks CRUD with url, objectId, type, level,
//     description (≤ 100), inactiveFlag [D, checked in R1];
//     isSelfSuppressedFlag exists in the 2025.x model [K, checked in R3];
//     that it suppresses callbacks caused by the API member itself is [I].
//     The client registers level Owner with objectId 1, one callback per
//     record type (Ticket, Contact, Company, Time), sets
//     isSelfSuppressedFlag, and appends "&recordId=" to the URL as R1
//     recommends ("PSA appends the record id").
//   - Delivery: PascalCase body, Action added|updated|deleted, Type
//     lowercase, ID int, Entity a JSON-encoded string of the camelCase
//     record (null on delete), Metadata.key_url [K, checked in R5]. The
//     record type string for time entries is [I]: "time" and "timeentry"
//     are both read.
//   - Signature: x-content-signature = base64(HMAC-SHA256(key =
//     SHA256(signing key), raw body)) [D, checked in R1's C# sample];
//     signing key from GET key_url as {"signing_key": ...} [K, R5]. A
//     key_url double slash after the codebase is seen in the wild [K,
//     checked in R5]. The client fetches keys only from the configured
//     API or site host, *.myconnectwise.net, or Config.KeyURLHosts, sends
//     its clientId and credentials on that fetch (whether CW requires
//     them is [I]), and caches keys by URL (a cached key that fails is
//     re-fetched once, for rotation).
//   - Because ConnectWise signs with its own key, the registered URL also
//     carries Horizon's secret as a token query parameter; VerifyCallback
//     checks both. Observed registrations report the URL without token and
//     recordId, and a fingerprint of the token, so a rotated secret shows
//     as a change while the secret never leaves this package.
//   - 429 with Retry-After and body {"error":"ConnectWiseAPI","message":
//     "Too many requests. ..."} [D, checked in R1]; error body
//     {"code","message","errors":[{code,message,resource,field}]} with
//     errors possibly null [D/K]. Never retry 4xx other than 429 [D].
//   - Timestamps ISO-8601 UTC without fractional seconds; _info holds
//     lastUpdated and dateEntered [K]. Parsed loosely (fractions, missing
//     zone read as UTC).
package connectwise
