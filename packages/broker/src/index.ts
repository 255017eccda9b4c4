export { Broker, parseHostPort, type BrokerOptions } from './broker.js';
export { BrokerConfig, ConfigError, parseProperties, brokerConfigDefs } from './config/broker-configs.js';
export { topicConfigDefs } from './config/topic-configs.js';
export { consoleLogger, silentLogger, type Logger } from './logger.js';
export { handlers, registry } from './handlers/index.js';
export type { BrokerContext, Clock } from './broker-context.js';
