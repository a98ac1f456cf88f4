package autotask

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// rig is an emulator behind an httptest server, driven by raw HTTP so
// that the emulator is tested from the wire facts, not through the
// client.
type rig struct {
	t     *testing.T
	world *sandbox.World
	emu   *Emulator
	srv   *httptest.Server
	f     *sandbox.Faults
}

func newRig(t *testing.T, s Settings) *rig {
	t.Helper()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 60, Seed: 11})
	f := sandbox.NewFaults(5)
	e, err := New(sandbox.Options{World: w, Faults: f, DeliveryScale: 0.0001}, s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(e.Close)
	return &rig{t: t, world: w, emu: e, srv: srv, f: f}
}

const root = "/ATServicesRest/V1.0/"

// call sends an authenticated request and decodes the JSON answer.
func (r *rig) call(method, path, body string) (int, map[string]any) {
	r.t.Helper()
	h := http.Header{}
	h.Set("ApiIntegrationCode", r.emu.set.IntegrationCode)
	h.Set("UserName", r.emu.set.Username)
	h.Set("Secret", r.emu.set.Secret)
	return r.raw(method, path, body, h)
}

func (r *rig) raw(method, path, body string, h http.Header) (int, map[string]any) {
	r.t.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = r.srv.URL + path
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{"raw": string(b)}
	}
	return res.StatusCode, out
}

func errorsOf(out map[string]any) string {
	list, _ := out["errors"].([]any)
	var parts []string
	for _, e := range list {
		s, _ := e.(string)
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func items(out map[string]any) []map[string]any {
	list, _ := out["items"].([]any)
	res := make([]map[string]any, len(list))
	for i, it := range list {
		res[i], _ = it.(map[string]any)
	}
	return res
}

func nextURL(out map[string]any) string {
	pd, _ := out["pageDetails"].(map[string]any)
	s, _ := pd["nextPageUrl"].(string)
	return s
}

func TestRegistered(t *testing.T) {
	e, err := sandbox.New("autotask", sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	env := e.Env()
	frag := e.ConfigFragment("http://127.0.0.1:8080/")
	for _, want := range []string{"provider: autotask", "{env: AUTOTASK_SECRET}", "{env: AUTOTASK_INTEGRATION_CODE}",
		"baseURL: http://127.0.0.1:8080\n", "username: " + env[EnvUsername]} {
		if !strings.Contains(frag, want) {
			t.Errorf("fragment lacks %q:\n%s", want, frag)
		}
	}
	if env[EnvSecret] == "" || env[EnvIntegrationCode] == "" || strings.Contains(frag, env[EnvSecret]) {
		t.Errorf("env = %v; the fragment must reference, not embed, secrets", env)
	}
}

func TestZoneInformation(t *testing.T) {
	r := newRig(t, Settings{})
	st, out := r.raw("GET", "/atservicesrest/v1.0/zoneInformation?user="+strings.ToUpper(r.emu.set.Username), "", http.Header{})
	if st != 200 || out["url"] != r.srv.URL+"/ATServicesRest/" {
		t.Fatalf("zone = %d %v", st, out)
	}
	st, out = r.raw("GET", "/atservicesrest/v1.0/zoneInformation?user=nobody", "", http.Header{})
	if st != 500 || errorsOf(out) == "" {
		t.Fatalf("unknown user = %d %v, want 500 with errors", st, out)
	}
	r.emu.MoveZone()
	_, out = r.raw("GET", "/atservicesrest/v1.0/zoneInformation?user="+r.emu.set.Username, "", http.Header{})
	if out["url"] != r.srv.URL+"/zone2/ATServicesRest/" {
		t.Fatalf("moved zone = %v", out)
	}
	if st, _ := r.call("GET", root+"ThresholdInformation", ""); st != 401 {
		t.Fatalf("old zone = %d, want 401", st)
	}
	if st, _ := r.call("GET", "/zone2"+root+"ThresholdInformation", ""); st != 200 {
		t.Fatalf("new zone = %d", st)
	}
}

func TestAuth(t *testing.T) {
	r := newRig(t, Settings{})
	good := func() http.Header {
		h := http.Header{}
		h.Set("ApiIntegrationCode", r.emu.set.IntegrationCode)
		h.Set("UserName", r.emu.set.Username)
		h.Set("Secret", r.emu.set.Secret)
		return h
	}
	for _, name := range []string{"ApiIntegrationCode", "UserName", "Secret"} {
		for _, v := range []string{"", "wrong"} {
			h := good()
			h.Set(name, v)
			st, out := r.raw("GET", root+"Tickets/entityInformation/fields", "", h)
			if st != 401 || errorsOf(out) == "" {
				t.Errorf("%s=%q: %d, want 401 with errors", name, v, st)
			}
		}
	}
	// Header names and the path are case-insensitive.
	h := http.Header{}
	h["apiintegrationcode"] = []string{r.emu.set.IntegrationCode}
	h["USERNAME"] = []string{r.emu.set.Username}
	h["secret"] = []string{r.emu.set.Secret}
	if st, out := r.raw("GET", "/atservicesrest/v1.0/tickets/ENTITYINFORMATION/fields", "", h); st != 200 {
		t.Fatalf("case-insensitive request = %d %v", st, out)
	}
}

func TestQueryValidation(t *testing.T) {
	r := newRig(t, Settings{})
	ors := make([]string, 501)
	for i := range ors {
		ors[i] = `{"op":"eq","field":"id","value":1}`
	}
	bad := map[string]string{
		"MaxRecords over 500":   `{"filter":[{"op":"exist","field":"id"}],"MaxRecords":501}`,
		"MaxRecords zero":       `{"filter":[{"op":"exist","field":"id"}],"MaxRecords":0}`,
		"MaxRecords string":     `{"filter":[{"op":"exist","field":"id"}],"MaxRecords":"10"}`,
		"no filter":             `{"MaxRecords":10}`,
		"empty filter":          `{"filter":[]}`,
		"filter not an array":   `{"filter":{"op":"exist","field":"id"}}`,
		"unknown property":      `{"filter":[{"op":"exist","field":"id"}],"orderBy":"id"}`,
		"unknown op":            `{"filter":[{"op":"like","field":"title","value":"x"}]}`,
		"missing op":            `{"filter":[{"field":"id","value":1}]}`,
		"unknown field":         `{"filter":[{"op":"eq","field":"nope","value":1}]}`,
		"not queryable":         `{"filter":[{"op":"eq","field":"creatorType","value":1}]}`,
		"missing value":         `{"filter":[{"op":"eq","field":"id"}]}`,
		"string for int":        `{"filter":[{"op":"eq","field":"status","value":"new"}]}`,
		"bad datetime":          `{"filter":[{"op":"gt","field":"lastActivityDate","value":"yesterday"}]}`,
		"in without array":      `{"filter":[{"op":"in","field":"status","value":5}]}`,
		"exist with value":      `{"filter":[{"op":"exist","field":"id","value":3}]}`,
		"contains on int":       `{"filter":[{"op":"contains","field":"status","value":5}]}`,
		"or without items":      `{"filter":[{"op":"or"}]}`,
		"group with field":      `{"filter":[{"op":"and","field":"id","items":[{"op":"exist","field":"id"}]}]}`,
		"unknown condition key": `{"filter":[{"op":"exist","field":"id","negate":true}]}`,
		"udf":                   `{"filter":[{"op":"eq","field":"Site","udf":true,"value":"x"}]}`,
		"not JSON":              `{"filter":[`,
		"more than 500 ORs":     `{"filter":[{"op":"or","items":[` + strings.Join(ors, ",") + `]}]}`,
		"boolean as string":     `{"filter":[{"op":"eq","field":"isNonBillable","value":"true"}]}`,
	}
	for name, body := range bad {
		path := root + "Tickets/query"
		if name == "boolean as string" {
			path = root + "TimeEntries/query"
		}
		if st, out := r.call("POST", path, body); st != 400 || errorsOf(out) == "" {
			t.Errorf("%s: %d %v, want 400 with errors", name, st, out)
		}
	}
	good := `{"filter":[{"op":"or","items":[{"op":"eq","field":"status","value":1},{"op":"in","field":"status","value":[5,"7"]}]},` +
		`{"op":"gte","field":"lastActivityDate","value":"2000-01-01T00:00:00"},{"op":"beginsWith","field":"title","value":"p"}],"maxrecords":3}`
	if st, out := r.call("POST", root+"Tickets/query", good); st != 200 {
		t.Fatalf("good query = %d %v", st, out)
	}
	if st, out := r.call("GET", root+"Tickets/query?search="+urlQuery(`{"filter":[{"op":"exist","field":"id"}]}`), ""); st != 200 || len(items(out)) == 0 {
		t.Fatalf("GET search = %d %v", st, out)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer(`{`, "%7B", `}`, "%7D", `"`, "%22", `[`, "%5B", `]`, "%5D", ` `, "%20", `:`, "%3A", `,`, "%2C").Replace(s)
}

// The next-page URL carries the whole query: a GET with no body keeps the
// filter, and a POST body is ignored.
func TestNextPageKeepsFilter(t *testing.T) {
	r := newRig(t, Settings{})
	q := r.world.Queues()[0].ID
	body := `{"filter":[{"op":"eq","field":"queueID","value":` + itoa(q) + `}],"MaxRecords":3}`
	_, out := r.call("POST", root+"Tickets/query", body)
	seen := 0
	for page := 0; ; page++ {
		for _, it := range items(out) {
			if int64(it["queueID"].(float64)) != q {
				t.Fatalf("page %d: ticket %v in queue %v", page, it["id"], it["queueID"])
			}
			seen++
		}
		next := nextURL(out)
		if next == "" {
			break
		}
		method, b := "GET", ""
		if page%2 == 1 {
			method, b = "POST", `{"filter":[{"op":"exist","field":"id"}],"MaxRecords":500}`
		}
		var st int
		st, out = r.call(method, next, b)
		if st != 200 {
			t.Fatalf("next page %s = %d %v", method, st, out)
		}
	}
	_, cnt := r.call("POST", root+"Tickets/query/count", body)
	if float64(seen) != cnt["queryCount"] || seen < 4 {
		t.Fatalf("seen %d, count %v", seen, cnt)
	}
}

func TestNextPageMethods(t *testing.T) {
	r := newRig(t, Settings{NextPageMethods: []string{"GET"}})
	_, out := r.call("POST", root+"Contacts/query", `{"filter":[{"op":"exist","field":"id"}],"MaxRecords":2}`)
	if st, _ := r.call("POST", nextURL(out), ""); st != 405 {
		t.Fatalf("POST to a GET-only next URL = %d", st)
	}
	if st, _ := r.call("GET", nextURL(out), ""); st != 200 {
		t.Fatalf("GET next = %d", st)
	}
	if st, _ := r.call("GET", root+"Contacts/query/next?paging=garbage", ""); st != 400 {
		t.Fatalf("bad token = %d", st)
	}
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestGetItem(t *testing.T) {
	r := newRig(t, Settings{})
	st, out := r.call("GET", root+"Tickets/99999999", "")
	if st != 200 || out["item"] != nil {
		t.Fatalf("missing = %d %v, want 200 item null", st, out)
	}
	ts, _ := r.world.QueryTickets(sandbox.TicketQuery{Limit: 1})
	_, out = r.call("GET", root+"Tickets/"+itoa(ts[0].ID), "")
	item, _ := out["item"].(map[string]any)
	for _, k := range []string{"id", "ticketNumber", "title", "status", "priority", "queueID", "companyID",
		"createDate", "lastActivityDate", "dueDateTime"} {
		if _, ok := item[k]; !ok {
			t.Errorf("ticket lacks %s: %v", k, item)
		}
	}
	if s, _ := item["lastActivityDate"].(string); !strings.HasSuffix(s, "Z") || len(s) != len("2019-09-23T11:00:00.000Z") {
		t.Errorf("lastActivityDate = %q, want milliseconds and Z", s)
	}
	if st, _ := r.call("GET", root+"Tickets/abc", ""); st != 404 {
		t.Errorf("bad id = %d", st)
	}
	if st, _ := r.call("GET", root+"Invoices/1", ""); st != 404 {
		t.Errorf("unknown entity = %d", st)
	}
	if st, _ := r.call("PUT", root+"Tickets", "{}"); st != 405 {
		t.Errorf("PUT = %d", st)
	}
}

func (r *rig) ticket() sandbox.Ticket {
	ts, _ := r.world.QueryTickets(sandbox.TicketQuery{Limit: 1})
	return ts[0]
}

func TestPatchTicket(t *testing.T) {
	r := newRig(t, Settings{})
	tk := r.ticket()
	agent := itoa(r.world.Members()[2].ID)
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no id", `{"status":5}`, 400, "id"},
		{"unknown field", `{"id":` + itoa(tk.ID) + `,"statusName":"Complete"}`, 400, "Unknown field"},
		{"wrong type", `{"id":` + itoa(tk.ID) + `,"status":"Complete"}`, 400, "status"},
		{"assignee without role", `{"id":` + itoa(tk.ID) + `,"assignedResourceID":` + agent + `}`, 500, "Data violation"},
		{"bad status", `{"id":` + itoa(tk.ID) + `,"status":4242}`, 500, "status"},
		{"missing ticket", `{"id":1,"status":5}`, 500, "does not exist"},
		{"title too long", `{"id":` + itoa(tk.ID) + `,"title":"` + strings.Repeat("x", 256) + `"}`, 400, "length"},
		{"ok", `{"ID":` + itoa(tk.ID) + `,"Status":5,"AssignedResourceID":` + agent + `,"assignedResourceRoleID":` + itoa(roleHelpDesk) + `,"ticketNumber":"ignored"}`, 200, ""},
	}
	for _, tc := range cases {
		st, out := r.call("PATCH", root+"Tickets", tc.body)
		if st != tc.status || !strings.Contains(errorsOf(out), tc.msg) {
			t.Errorf("%s: %d %v, want %d %q", tc.name, st, out, tc.status, tc.msg)
		}
	}
	got, _ := r.world.Ticket(tk.ID)
	if st, _, _ := r.world.Status(got.StatusID); !st.Closed || itoa(got.AssigneeID) != agent || got.UpdatedBy != r.emu.APIResourceID() {
		t.Fatalf("world ticket = %+v", got)
	}
	lax := newRig(t, Settings{AcceptUnknownFields: true, AssignWithoutRole: true})
	body := `{"id":` + itoa(lax.ticket().ID) + `,"statusName":"x","assignedResourceID":` + itoa(lax.world.Members()[2].ID) + `}`
	if st, out := lax.call("PATCH", root+"Tickets", body); st != 200 {
		t.Fatalf("lenient settings = %d %v", st, out)
	}
}

func TestCreateValidation(t *testing.T) {
	r := newRig(t, Settings{})
	tk := r.ticket()
	co := itoa(r.world.Companies()[0].ID)
	cases := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"ticket missing fields", "Tickets", `{"title":"x","companyID":` + co + `}`, 500, "Missing required field"},
		{"ticket ok", "Tickets", `{"title":"x","companyID":` + co + `,"status":1,"priority":` + itoa(r.world.Priorities()[0].ID) + `,"dueDateTime":"2030-01-01T00:00:00Z"}`, 200, ""},
		{"note wrong parent", "Tickets/" + itoa(tk.ID) + "/Notes", `{"ticketID":1,"title":"t","description":"d","noteType":1,"publish":1}`, 500, "parent"},
		{"note bad publish", "Tickets/" + itoa(tk.ID) + "/Notes", `{"title":"t","description":"d","noteType":1,"publish":9}`, 500, "publish"},
		{"note missing title", "Tickets/" + itoa(tk.ID) + "/Notes", `{"description":"d","noteType":1,"publish":1}`, 500, "title"},
		{"time zero hours", "TimeEntries", `{"ticketID":` + itoa(tk.ID) + `,"resourceID":` + itoa(r.world.Members()[1].ID) + `,"dateWorked":"2025-03-04","hoursWorked":0}`, 500, "hoursWorked"},
		{"time unknown resource", "TimeEntries", `{"ticketID":` + itoa(tk.ID) + `,"resourceID":5,"dateWorked":"2025-03-04","hoursWorked":1}`, 500, "Resource"},
	}
	for _, tc := range cases {
		st, out := r.call("POST", root+tc.path, tc.body)
		if st != tc.status || !strings.Contains(errorsOf(out), tc.msg) {
			t.Errorf("%s: %d %v, want %d %q", tc.name, st, out, tc.status, tc.msg)
		}
		if tc.status == 200 && out["itemId"] == nil {
			t.Errorf("%s: no itemId in %v", tc.name, out)
		}
	}
	strict := newRig(t, Settings{RequireTimeEntryRole: true})
	body := `{"ticketID":` + itoa(strict.ticket().ID) + `,"resourceID":` + itoa(strict.world.Members()[1].ID) + `,"dateWorked":"2025-03-04","hoursWorked":1}`
	if st, out := strict.call("POST", root+"TimeEntries", body); st != 500 || !strings.Contains(errorsOf(out), "roleID") {
		t.Fatalf("time entry without role = %d %v", st, out)
	}
}

func TestPicklistMetadata(t *testing.T) {
	r := newRig(t, Settings{})
	_, out := r.call("GET", root+"Tickets/entityInformation/fields", "")
	fields, _ := out["fields"].([]any)
	found := map[string]bool{}
	for _, f := range fields {
		m := f.(map[string]any)
		if m["name"] == "status" {
			for _, v := range m["picklistValues"].([]any) {
				pv := v.(map[string]any)
				if _, isString := pv["value"].(string); !isString {
					t.Fatalf("picklist value %v is not a string", pv["value"])
				}
				found[pv["value"].(string)+"="+pv["label"].(string)] = true
			}
		}
	}
	if !found["1=New"] || !found["5=Completed"] {
		t.Fatalf("status picklist = %v", found)
	}
}

func TestThreadLimit(t *testing.T) {
	r := newRig(t, Settings{ThresholdLatency: 150_000_000})
	r.emu.SetUsage(6000)
	statuses := make(chan int, 4)
	for range 4 {
		go func() {
			st, _ := r.call("GET", root+"ThresholdInformation", "")
			statuses <- st
		}()
	}
	got := map[int]int{}
	for range 4 {
		got[<-statuses]++
	}
	if got[200] != 3 || got[429] != 1 {
		t.Fatalf("statuses = %v, want three 200 and one 429", got)
	}
}

func TestThreshold(t *testing.T) {
	r := newRig(t, Settings{ThresholdLimit: 50})
	_, out := r.call("GET", root+"ThresholdInformation", "")
	if out["externalRequestThreshold"] != 50.0 || out["requestThresholdTimeframe"] != 60.0 || out["currentTimeframeRequestCount"] != 1.0 {
		t.Fatalf("threshold = %v", out)
	}
	r.emu.SetUsage(49)
	st, out := r.call("GET", root+"ThresholdInformation", "")
	if st != 429 || !strings.Contains(errorsOf(out), "threshold") {
		t.Fatalf("over threshold = %d %v", st, out)
	}
}

func TestFaultBodies(t *testing.T) {
	r := newRig(t, Settings{})
	r.f.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: 2_000_000_000})
	req, _ := http.NewRequest("GET", r.srv.URL+root+"ThresholdInformation", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" || !bytes.Contains(b, []byte(`"errors"`)) {
		t.Fatalf("429 = %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), b)
	}
	// Zone discovery is not faulted (nor thread-limited [D]).
	if st, _ := r.raw("GET", "/atservicesrest/v1.0/zoneInformation?user="+r.emu.set.Username, "", http.Header{}); st != 200 {
		t.Fatalf("zone under faults = %d", st)
	}
	r.f.Set(sandbox.FaultSettings{ErrorRate: 1})
	if st, out := r.call("GET", root+"ThresholdInformation", ""); st != 500 || !strings.Contains(out["raw"].(string), "500") {
		t.Fatalf("server error = %d %v", st, out)
	}
}
