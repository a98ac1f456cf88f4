package zohodesk_test

import (
	"testing"

	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/writetest"
)

func TestWriteback(t *testing.T) {
	writetest.Run(t, func(t *testing.T) writetest.Fixture {
		e := newEnv(t, envOpts{})
		return writetest.Fixture{Provider: e.client(t), World: e.world, Faults: e.faults, ID: zdsandbox.WireID}
	})
}
