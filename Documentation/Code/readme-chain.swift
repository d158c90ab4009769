import BatchProcessing
import BatchRunner

// docs: begin
let chain = try ChainConfiguration.load(path: "orders.yaml")
let processor = BatchProcessor(configuration: chain.processor, middleware: try chain.makeMiddleware())
// docs: end
