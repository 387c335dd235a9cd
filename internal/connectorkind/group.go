package connectorkind

// KeyConsumerGroupOverride replaces a sink's consumer group; the worker's
// connector.client.config.override.policy must allow it.
const KeyConsumerGroupOverride = "consumer.override.group.id"

// ConsumerGroup is the consumer group a sink's tasks read with:
// connect-<name>, as Kafka Connect names it, unless the connector
// overrides it. "" for a source.
func (c *Connector) ConsumerGroup() string {
	if !c.IsSink() {
		return ""
	}
	return c.Get(KeyConsumerGroupOverride, "connect-"+c.Name)
}
