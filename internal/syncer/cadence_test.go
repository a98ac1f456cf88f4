package syncer

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

func TestMembersSyncWithEachPoll(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.PollInterval = 5 * time.Millisecond
		o.PicklistInterval = time.Hour
		o.Now = nil
	})
	put(e.psa, &e.psa.members, helpdesk.Member{ExternalID: "1", Name: "Ana", Active: true, UpdatedAt: time.Now().Add(-time.Hour)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return countRuns(e.st, helpdesk.EntityMembers, store.TriggerPoll) >= 2 })
	// A helpdesk user added now surfaces with the next poll, not with the
	// hourly picklist refresh.
	put(e.psa, &e.psa.members, helpdesk.Member{ExternalID: "2", Name: "Ben", Active: true, UpdatedAt: time.Now()})
	waitFor(t, func() bool { _, ok := e.st.snapshot(helpdesk.EntityMembers)["2"]; return ok })
}

// TestShippedStaleAlertFitsTheDefaultCadences checks HorizonSyncStale in
// deploy/prometheus against the default intervals: every entity polled
// (members included) and the picklists must succeed, with the largest
// jitter, well within the alert's threshold, so that the alert never
// fires on a healthy daemon with default settings.
func TestShippedStaleAlertFitsTheDefaultCadences(t *testing.T) {
	rules, err := os.ReadFile("../../deploy/prometheus/horizon-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	threshold := func(sel string) time.Duration {
		re := regexp.MustCompile(`horizon_sync_last_success_timestamp_seconds\{` + regexp.QuoteMeta(sel) + `\}\) > (\d+)`)
		m := re.FindSubmatch(rules)
		if m == nil {
			t.Fatalf("no HorizonSyncStale rule for {%s} in horizon-rules.yaml", sel)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return time.Duration(n) * time.Second
	}
	worst := func(d time.Duration) time.Duration { return time.Duration(float64(d) * (1 + DefaultJitter)) }
	// Each cadence must fit at least twice: one failed run must not page.
	if poll, limit := worst(DefaultPollInterval), threshold(`entity!="picklists"`); 2*poll >= limit {
		t.Errorf("polled entities (members included) succeed every %v at worst; HorizonSyncStale fires after %v", poll, limit)
	}
	if ref, limit := worst(DefaultPicklistInterval), threshold(`entity="picklists"`); 2*ref >= limit {
		t.Errorf("picklists refresh every %v at worst; HorizonSyncStale fires after %v", ref, limit)
	}
	// Members are among the polled entities: synced with each poll.
	e := newEnv(t, nil)
	if got := e.s.Entities(); got[len(got)-1] != helpdesk.EntityMembers {
		t.Errorf("a poll syncs %v, want members included", got)
	}
}
