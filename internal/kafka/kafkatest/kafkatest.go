// Package kafkatest has Kafka stand-ins for tests: a listener that
// accepts connections and never answers, and a broker that answers a
// producer until its produce request, which it never answers.
package kafkatest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Listen accepts connections on a local port, hands each to serve (none:
// held open, never answered) and closes them all at the test's end.
func Listen(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			if serve != nil {
				go serve(c)
			}
		}
	}()
	return ln.Addr().String()
}

// Broker is a one-broker Kafka stand-in that answers what a
// producer asks before it produces (versions, metadata, a producer id)
// and then never answers the produce request itself: the records are in
// flight, which franz-go's idempotent producer cannot fail on its own.
type Broker struct {
	// Addr is where it listens.
	Addr string
	// Produced is closed when the first produce request arrives.
	Produced chan struct{}
	once     sync.Once
}

// HungProduce starts a Broker that hangs at the produce request; it
// stops at the test's end.
func HungProduce(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{Produced: make(chan struct{})}
	b.Addr = Listen(t, b.serve)
	return b
}

func (b *Broker) serve(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var size int32
		if binary.Read(r, binary.BigEndian, &size) != nil {
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
		corr := frame[4:8]
		clientLen := int16(binary.BigEndian.Uint16(frame[8:]))
		body := frame[10+max(clientLen, 0):]
		req := kmsg.RequestForKey(key)
		if req == nil {
			return
		}
		req.SetVersion(version)
		if req.IsFlexible() {
			body = body[1:] // no tagged fields in the header
		}
		if err := req.ReadFrom(body); err != nil {
			return
		}
		resp := b.answer(req)
		if resp == nil {
			continue // the produce request: never answered
		}
		out := append([]byte{0, 0, 0, 0}, corr...)
		if resp.IsFlexible() && key != int16(kmsg.ApiVersions) {
			out = append(out, 0)
		}
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (b *Broker) answer(req kmsg.Request) kmsg.Response {
	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range []struct{ key, max int16 }{{int16(kmsg.ApiVersions), 3}, {int16(kmsg.Metadata), 9}, {int16(kmsg.InitProducerID), 4}, {int16(kmsg.Produce), 9}} {
			v := kmsg.NewApiVersionsResponseApiKey()
			v.ApiKey, v.MaxVersion = k.key, k.max
			resp.ApiKeys = append(resp.ApiKeys, v)
		}
		return resp
	case *kmsg.MetadataRequest:
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		host, port, _ := net.SplitHostPort(b.Addr)
		p, _ := strconv.Atoi(port)
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = 0, host, int32(p)
		resp.Brokers = append(resp.Brokers, br)
		for _, rt := range req.Topics {
			t := kmsg.NewMetadataResponseTopic()
			t.Topic = rt.Topic
			pt := kmsg.NewMetadataResponseTopicPartition()
			pt.Replicas, pt.ISR = []int32{0}, []int32{0}
			t.Partitions = append(t.Partitions, pt)
			resp.Topics = append(resp.Topics, t)
		}
		return resp
	case *kmsg.InitProducerIDRequest:
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID = 1
		return resp
	case *kmsg.ProduceRequest:
		b.once.Do(func() { close(b.Produced) })
	}
	return nil
}
