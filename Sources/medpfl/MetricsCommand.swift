import ArgumentParser
import Foundation
import Imaging
import Metrics

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Compare a reconstruction with its original: MSE, PSNR, SSIM (Gaussian window, data range 1).",
        discussion: """
        Both images are read as RGB in [0, 1] (gray replicated) and must have the same size. SSIM follows \
        Wang et al. with an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, data range 1, valid region, \
        mean over channels: equal to skimage's structural_similarity(..., gaussian_weights=True, sigma=1.5, \
        use_sample_covariance=False, data_range=1.0, channel_axis=-1).
        """)

    @Option(help: "The original image (PNG).") var reference: String
    @Option(help: "The reconstruction (PNG).") var candidate: String
    @Option(help: "SSIM at or above which the reconstruction counts as a success.") var threshold: Double = 0.9
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard threshold.isFinite, threshold > 0, threshold <= 1 else { throw ValidationError("--threshold is an SSIM: a number in (0, 1], got \(threshold)") }
    }

    struct Output: Encodable { let reference: String, candidate: String, mse: Double, psnr: Double, ssim: Double, success: Bool, threshold: Double }

    func run() throws {
        let a = try input { try RGBImage(path: reference) }
        let b = try input { try RGBImage(path: candidate) }
        guard a.width == b.width, a.height == b.height else {
            throw InputError("\(candidate) is \(b.width)x\(b.height) but \(reference) is \(a.width)x\(a.height)")
        }
        guard a.width >= 11, a.height >= 11 else { throw InputError("\(reference) is smaller than the 11x11 SSIM window") }
        let s = score(reference: a.pixels, candidate: b.pixels, channels: 3, height: a.height, width: a.width, threshold: threshold)
        if json {
            try printJSON(Output(reference: reference, candidate: candidate, mse: s.mse, psnr: s.psnr, ssim: s.ssim, success: s.success, threshold: threshold))
        } else {
            print(String(format: "MSE %.6f  PSNR %.2f dB  SSIM %.4f  %@", s.mse, s.psnr, s.ssim, s.success ? "success (SSIM >= \(threshold))" : "not a success"))
        }
    }
}
