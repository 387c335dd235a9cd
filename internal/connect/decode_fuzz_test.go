package connect

import (
	"encoding/json"
	"reflect"
	"testing"

	fastjson "github.com/goccy/go-json"
)

// The client decodes with goccy/go-json for speed; whatever Connect sends,
// it must read it as encoding/json would.
func FuzzDecoderAgreesWithEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"a":{"status":{"name":"a","connector":{"state":"RUNNING","worker_id":"w:8083"},"tasks":[{"id":0,"state":"FAILED","worker_id":"w","trace":"x\ny"}],"type":"sink"},"info":{"name":"a","config":{"connector.class":"c","k":"v\u00e9"},"tasks":[{"connector":"a","task":0}],"type":"sink"}}}`))
	f.Add([]byte(`{"a":null,"b":{"status":{"tasks":[]}}}`))
	f.Add([]byte(`{"a":{"info":{"config":{"x":"\ud83d\ude00","y":""}}}}`))
	f.Add([]byte(`{"a":{"status":{"tasks":[{"id":1e2}]}}}`))
	f.Add([]byte(`{"a":{"status":{"connector":{"state":"RUNNING","extra":[1,{"z":true}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var std, fast map[string]*Connector
		errStd := json.Unmarshal(data, &std)
		errFast := fastjson.Unmarshal(data, &fast)
		if errStd != nil {
			// Rejecting what encoding/json rejects is not required of the
			// fast decoder, but accepting it must not crash (the fuzzer
			// checks that), and valid input must agree below.
			return
		}
		if errFast != nil {
			t.Fatalf("encoding/json accepts, goccy rejects: %v\n%q", errFast, data)
		}
		if !reflect.DeepEqual(std, fast) {
			t.Fatalf("decoders disagree on %q:\n std  %#v\n fast %#v", data, std, fast)
		}
	})
}
