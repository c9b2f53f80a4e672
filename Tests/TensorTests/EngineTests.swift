import XCTest
import Tensor

/// Every computation runs with the command-line tool's BLAS threading (one thread), whoever calls first:
/// a test computes exactly what the CLI computes, whatever OPENBLAS_NUM_THREADS says.
final class EngineTests: XCTestCase {
    func testTheFirstBLASCallSetsOneThread() {
        let a = Tensor.ones([64, 64])
        _ = matmul(a, a)
        XCTAssertEqual(Engine.blasThreads, 1, "OPENBLAS_NUM_THREADS=\(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset")")
        XCTAssertFalse(Engine.blasCore.isEmpty)
    }

    /// `BLAS.setThreads` still overrides the default, and the default does not come back afterwards.
    func testSetThreadsOverridesTheDefault() {
        BLAS.setThreads(2)
        let a = Tensor.ones([8, 8])
        _ = matmul(a, a)
        XCTAssertEqual(Engine.blasThreads, 2)
        BLAS.setThreads(1)
        XCTAssertEqual(Engine.blasThreads, 1)
    }
}
