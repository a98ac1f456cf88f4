package callback_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/postgres"
)

const (
	// benchWorkers is the number of concurrent clients.
	benchWorkers = 32
	// benchRound is how many deliveries each side gets before the other
	// takes its turn.
	benchRound = 256
)

// BenchmarkReceiver measures signed Autotask deliveries per second over
// real HTTP from benchWorkers concurrent clients (a fixed worker pool):
//
//   - bare: a handler that reads the body and answers 200;
//   - sqlite, postgres (HORIZON_TEST_POSTGRES_URL, skipped when unset):
//     the Receiver verifying (HMAC-SHA1), parsing and durably logging
//     every delivery before answering; variants change the group-commit
//     settings (nobatch: one delivery per transaction).
//
// The store sub-benchmarks alternate rounds of benchRound deliveries
// between a bare server and the Receiver, so that both see the same
// machine load, and report req/s, p50-ms and p99-ms of the Receiver,
// bare-req/s, and x-bare = Receiver rate / bare rate. ns/op is the
// Receiver's.
//
//	go test -run XXX -bench Receiver ./internal/callback/
//	scripts/with-postgres go test -run XXX -bench Receiver ./internal/callback/
func BenchmarkReceiver(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		srv := newBenchServer(b, bareHandler())
		var lat []time.Duration
		b.ResetTimer()
		elapsed := srv.fire(b, b.N, &lat)
		report(b, b.N, elapsed, lat)
	})
	pg := os.Getenv("HORIZON_TEST_POSTGRES_URL")
	for _, tc := range []struct {
		name, url string
		cfg       callback.Config
	}{
		{"sqlite", "sqlite", callback.Config{}},
		{"sqlite-nobatch", "sqlite", callback.Config{BatchSize: 1}},
		{"postgres", pg, callback.Config{}},
		{"postgres-2committers", pg, callback.Config{Committers: 2}},
		{"postgres-nobatch", pg, callback.Config{BatchSize: 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url := tc.url
			switch url {
			case "":
				b.Skip("HORIZON_TEST_POSTGRES_URL is not set (run under scripts/with-postgres)")
			case "sqlite":
				url = "sqlite:" + b.TempDir() + "/bench.db"
			}
			benchStore(b, url, tc.cfg)
		})
	}
}

func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
}

// benchStore measures a Receiver on the store at url.
func benchStore(b *testing.B, url string, cfg callback.Config) {
	st, err := store.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchReceiver(b, st, cfg)
}

// benchReceiver measures a Receiver on st against a bare handler, in
// alternating rounds.
func benchReceiver(b *testing.B, st store.Store, cfg callback.Config) {
	client, err := autotask.New(autotask.Config{Username: "bench@example.com", Secret: "x", IntegrationCode: "y",
		BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	checkDelivery(b, client)
	cfg.Scope = store.Scope{Account: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Provider: helpdesk.Autotask}
	cfg.Provider, cfg.Store, cfg.Secret, cfg.Logger = client, st, hookSecret, quiet
	rc, err := callback.NewReceiver(cfg)
	if err != nil {
		b.Fatal(err)
	}
	stop := run(rc.Run)
	defer stop()
	bare, durable := newBenchServer(b, bareHandler()), newBenchServer(b, rc)
	var lat []time.Duration
	var tBare, tDurable time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += benchRound {
		n := min(benchRound, b.N-done)
		tBare += bare.fire(b, n, nil)
		tDurable += durable.fire(b, n, &lat)
	}
	b.StopTimer()
	report(b, b.N, tDurable, lat)
	b.ReportMetric(float64(b.N)/tBare.Seconds(), "bare-req/s")
	b.ReportMetric(tBare.Seconds()/tDurable.Seconds(), "x-bare")
}

// checkDelivery makes sure the benchmark's deliveries verify and parse.
func checkDelivery(b *testing.B, c *autotask.Client) {
	body, sig := autotaskDelivery("check", 1)
	req := httptest.NewRequest(http.MethodPost, "/callbacks/autotask", bytes.NewReader(body))
	req.Header.Set(autotask.SignatureHeader, sig)
	if err := c.VerifyCallback(context.Background(), req, body, hookSecret); err != nil {
		b.Fatal(err)
	}
	if evs, err := c.ParseCallback(req.Header, body); err != nil || len(evs) != 1 {
		b.Fatalf("parse: %v, %d events", err, len(evs))
	}
}

var benchSeq atomic.Int64

// autotaskDelivery returns a signed Autotask ticket-update delivery with
// a unique Guid+SequenceNumber.
func autotaskDelivery(run string, n int64) (body []byte, sig string) {
	body = fmt.Appendf(nil, `{"Action":"Update","Guid":"b6f3c3a2-%s","EntityType":"Ticket","Id":%d,`+
		`"Fields":{"Title":"Outlook keeps asking for the password","Status":"5","TicketNumber":"T20260301.%04d","QueueID":"29683354"},`+
		`"EventTime":"%s","SequenceNumber":%d,"PersonID":30691780}`,
		run, 350000+n%5000, n%10000, time.Now().UTC().Format(time.RFC3339Nano), n)
	m := hmac.New(sha1.New, []byte(hookSecret.Reveal()))
	m.Write(body)
	return body, "sha1=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// benchServer is a handler behind httptest and a client pool for it.
type benchServer struct {
	url   string
	hc    *http.Client
	runID string
}

func newBenchServer(b *testing.B, h http.Handler) *benchServer {
	srv := httptest.NewServer(h)
	tr := &http.Transport{MaxIdleConns: 2 * benchWorkers, MaxIdleConnsPerHost: 2 * benchWorkers}
	b.Cleanup(func() { tr.CloseIdleConnections(); srv.Close() })
	return &benchServer{url: srv.URL + "/callbacks/autotask", hc: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		runID: fmt.Sprint(time.Now().UnixNano())}
}

// fire sends n signed deliveries from benchWorkers workers, fails on any
// answer but 200, appends each latency to lat (when not nil), and returns
// the elapsed time.
func (s *benchServer) fire(b *testing.B, n int, lat *[]time.Duration) time.Duration {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range min(benchWorkers, n) {
		wg.Go(func() {
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
				body, sig := autotaskDelivery(s.runID, benchSeq.Add(1))
				t0 := time.Now()
				if err := s.post(body, sig); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			if lat != nil {
				mu.Lock()
				*lat = append(*lat, mine...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func (s *benchServer) post(body []byte, sig string) error {
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(autotask.SignatureHeader, sig)
	res, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("delivery answered %d", res.StatusCode)
	}
	return nil
}

// report sets ns/op, req/s, p50-ms and p99-ms from n deliveries that took
// elapsed, with latencies lat.
func report(b *testing.B, n int, elapsed time.Duration, lat []time.Duration) {
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
