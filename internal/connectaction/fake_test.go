package connectaction

import (
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
)

type (
	fakeConnect   = connecttest.Fake
	fakeConnector = connecttest.Connector
)

func newFake(t *testing.T) (*fakeConnect, *connect.Client) { return connecttest.New(t) }

var setAll = connecttest.SetAll

// fastOptions poll quickly so the tests take milliseconds.
var fastOptions = Options{Timeout: 2 * time.Second, PollInterval: 5 * time.Millisecond, Settle: 2, FailedGrace: 50 * time.Millisecond}
