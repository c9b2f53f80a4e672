import Foundation
import Imaging
@testable import Report

/// A fixed, small `ReportData` for the report tests: real 32x32 crops from `data/medical-sample/32`,
/// reconstructions made from them by a fixed blend with a deterministic pattern (the report layer only
/// shows images; the metrics below are the data), four Laplace settings and one DP-SGD setting, two
/// attacks and a previous audit to compare with.
enum ReportFixture {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let sampleClasses = ["ct", "mri", "xray", "histology"]

    /// The fixture, with `site` as the site name (tests put hostile strings there).
    static func data(site: String = "St Elsewhere Hospital, Radiology") throws -> ReportData {
        let start = Date(timeIntervalSince1970: 1_741_183_380) // 2025-03-05T14:03:00Z
        let metadata = ReportData.Metadata(
            auditID: "a-20250305-01", site: site, model: "site-cnn (audits/models/site-cnn.yaml)", modelVersion: "v3",
            weightsSHA256: "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd",
            dataSource: "data/medical-sample/32", sampleSize: 4, batchSize: 1, toolVersion: "0.1.0", seed: 1234,
            startedAt: start, durationSeconds: 754.2,
            command: "medpfl audit audits/site.yaml --db audit.sqlite --seed 1234",
            declaredSetting: "laplace:level=400", successThreshold: 0.9)
        let attacks = [
            ReportData.Attack(id: "idlg", name: "iDLG (Zhao et al. 2020)",
                              configuration: "L-BFGS, 300 iterations, 1 restart, label inferred from the last layer"),
            ReportData.Attack(id: "gradinv", name: "Inverting Gradients (Geiping et al. 2020)",
                              configuration: "Adam, 2000 iterations, cosine loss, total variation 1e-4"),
            ReportData.Attack(id: "analytic", name: "Analytic recovery (Phong et al. 2018)",
                              configuration: "closed form from the first layer's weight and bias gradients"),
        ]
        var settings = [
            ReportData.Setting(id: "none", label: "no defence", snrDB: nil, testAccuracy: 0.84, band: .high),
            ReportData.Setting(id: "laplace:level=400", label: "Laplace b=0.0025 (level 400)", snrDB: 14.23,
                               testAccuracy: 0.835, band: .high),
            ReportData.Setting(id: "laplace:level=100", label: "Laplace b=0.01 (level 100)", snrDB: 2.07,
                               testAccuracy: 0.8125, band: .high),
            ReportData.Setting(id: "dp:clip=4,sigma=1", label: "DP-SGD C=4 sigma=1", snrDB: -3.46, epsilon: 4.527,
                               delta: 1e-5, testAccuracy: 0.7417, band: .low),
            ReportData.Setting(id: "laplace:level=20", label: "Laplace b=0.05 (level 20)", snrDB: -11.9,
                               testAccuracy: 0.6167, band: .medium),
        ]
        // Guarantees as the assessment declares them; the DP setting with its whole-training epsilon and intervals.
        for k in settings.indices {
            settings[k].guarantee = settings[k].id == "none" ? "no defence" : settings[k].id.hasPrefix("dp:") ? "formal (DP)" : "no formal guarantee"
            settings[k].guaranteeReason = settings[k].id.hasPrefix("laplace") ? "Noise without per-example clipping has no bounded sensitivity." : "Reason \(k)."
            settings[k].accuracyInterval = [max(0, settings[k].testAccuracy! - 0.07), min(1, settings[k].testAccuracy! + 0.06)]
            settings[k].testImages = 120
        }
        settings[3].trainingEpsilon = 8.03
        settings[3].trainingRounds = 100
        settings[3].trainingSampleRate = 0.01
        // (asr, mean SSIM, max SSIM, mean MSE, mean PSNR, label leakage, seconds, band) per attack x setting.
        typealias M = (Double, Double, Double, Double, Double?, Double?, Double, ReportData.RiskLevel)
        let metrics: [String: [M]] = [
            "idlg": [(1, 0.981, 0.996, 0.00021, 36.8, 1, 41.3, .high), (0.75, 0.912, 0.955, 0.0019, 27.2, 1, 40.8, .high),
                     (0.25, 0.614, 0.903, 0.0124, 19.1, 1, 42.0, .high), (0, 0.183, 0.297, 0.061, 12.1, 0, 39.9, .low),
                     (0, 0.041, 0.087, 0.142, 8.48, 0.25, 40.2, .medium)],
            "gradinv": [(0.5, 0.861, 0.942, 0.0043, 23.7, nil, 128.4, .high), (0.25, 0.702, 0.913, 0.0088, 20.6, nil, 131.0, .high),
                        (0, 0.395, 0.612, 0.0297, 15.3, nil, 127.7, .medium), (0, 0.152, 0.233, 0.0723, 11.4, nil, 130.2, .low),
                        (0, 0.066, 0.114, 0.1188, 9.25, nil, 129.6, .low)],
        ]
        var rows: [ReportData.Row] = []
        for a in attacks {
            for (k, s) in settings.enumerated() {
                guard let m = metrics[a.id]?[k] else {
                    rows.append(.init(attack: a.id, setting: s.id, images: 4, asr: 0, meanSSIM: 0, maxSSIM: 0, meanMSE: 0,
                                      meanPSNR: nil, labelLeakage: nil, secondsPerImage: 0.002, band: nil,
                                      note: "needs a fully connected first layer"))
                    continue
                }
                rows.append(.init(attack: a.id, setting: s.id, images: 4, asr: m.0, meanSSIM: m.1, maxSSIM: m.2,
                                  meanMSE: m.3, meanPSNR: m.4, labelLeakage: m.5, secondsPerImage: m.6, band: m.7))
            }
        }
        let originals = try sampleImages()
        let samples = originals.enumerated().map { i, img in
            ReportData.Sample(index: i, className: sampleClasses[i], png: img.png)
        }
        var reconstructions: [ReportData.Reconstruction] = []
        let blend = [0.03, 0.25, 0.55, 0.85, 0.97]
        for (ai, a) in attacks.enumerated() where a.id != "analytic" {
            for (si, s) in settings.enumerated() {
                for (i, img) in originals.enumerated() where !(ai == 1 && si == 4 && i == 3) { // one missing cell
                    let png = try pngBytes(blended(img.image, with: blend[si], seed: ai * 100 + si * 10 + i))
                    reconstructions.append(.init(attack: a.id, setting: s.id, sample: i, png: png))
                }
            }
        }
        let previous = ReportData.PreviousAudit(
            auditID: "a-20241112-02", startedAt: Date(timeIntervalSince1970: 1_731_405_600), toolVersion: "0.0.9",
            declaredSetting: "none", declaredBand: .high,
            rows: [
                .init(attack: "idlg", setting: "none", images: 4, asr: 1, meanSSIM: 0.975, maxSSIM: 0.993, meanMSE: 0.0003,
                      meanPSNR: 35.2, labelLeakage: 1, secondsPerImage: 44, band: .high),
                .init(attack: "idlg", setting: "laplace:level=400", images: 4, asr: 1, meanSSIM: 0.934, maxSSIM: 0.97,
                      meanMSE: 0.0012, meanPSNR: 29.2, labelLeakage: 1, secondsPerImage: 44, band: .high),
                .init(attack: "gradinv", setting: "laplace:level=100", images: 4, asr: 0.25, meanSSIM: 0.52, maxSSIM: 0.91,
                      meanMSE: 0.016, meanPSNR: 18.0, labelLeakage: nil, secondsPerImage: 120, band: .high),
                .init(attack: "dlg", setting: "none", images: 4, asr: 0.75, meanSSIM: 0.88, maxSSIM: 0.97, meanMSE: 0.003,
                      meanPSNR: 25.2, labelLeakage: 0.75, secondsPerImage: 30, band: .high),
            ])
        var data = ReportData(
            metadata: metadata, attacks: attacks.map { a in
                var a = a
                a.threatModel = "eavesdropper"
                a.assumptions = ["the model and the weights the server sent", "the batch size"]
                return a
            }, settings: settings, rows: rows,
            recommendation: .init(setting: "dp:clip=4,sigma=1",
                                  rationale: "Of the settings rated Low against every attack, it costs the least test accuracy; the site's budget is 15.0 points."),
            utility: .init(baselineAccuracy: 0.84, method: "5 federated rounds on 120 training images, accuracy on 120 held-out test images"),
            bands: [
                .init(level: .low, criterion: "no image was rebuilt, the best SSIM stayed below 0.50 and no label was recovered"),
                .init(level: .medium, criterion: "the best SSIM reached 0.50, or at least one label was recovered"),
                .init(level: .high, criterion: "at least one image was rebuilt (SSIM 0.90 or more), or the best SSIM reached 0.90"),
            ],
            samples: samples, reconstructions: reconstructions, previous: previous,
            limitations: ["Only 4 images were attacked; the audit's default is 30."])
        // Both threat models in scope; only the eavesdropper's attacks were run.
        data.threats = [
            .init(id: "eavesdropper", description: "an honest-but-curious server, or an eavesdropper on the update",
                  attacks: attacks.map(\.id), declaredBand: .high, settingBands: settings.map { .init(setting: $0.id, band: $0.band) },
                  recommended: "dp:clip=4,sigma=1", rationale: "Recommended setting: dp:clip=4,sigma=1."),
            .init(id: "malicious-server", description: "a malicious server that modifies the model it sends", attacks: [],
                  declaredBand: nil, settingBands: settings.map { .init(setting: $0.id, band: nil) }, recommended: nil,
                  rationale: "Not assessed: the audit ran no attack of this threat model."),
        ]
        return data
    }

    /// The first image of each class in `sampleClasses`, with its PNG bytes.
    static func sampleImages() throws -> [(image: RGBImage, png: Data)] {
        try sampleClasses.map { cls in
            let dir = packageRoot.appendingPathComponent("data/medical-sample/32/\(cls)")
            let first = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".png") }.sorted()[0]
            let url = dir.appendingPathComponent(first)
            return (try RGBImage(path: url.path), try Data(contentsOf: url))
        }
    }

    /// `(1 - t) * image + t * pattern`, with a fixed pseudo-random pattern (a hash of the pixel index).
    static func blended(_ image: RGBImage, with t: Double, seed: Int) -> RGBImage {
        var out = image
        for i in 0..<out.pixels.count {
            var h = UInt64(truncatingIfNeeded: i &* 2_654_435_761 &+ seed &* 97_531)
            h ^= h >> 13; h = h &* 0x5bd1e995; h ^= h >> 15
            let noise = Float(h % 1000) / 999
            out.pixels[i] = Float(1 - t) * image.pixels[i] + Float(t) * noise
        }
        return out
    }

    static func pngBytes(_ image: RGBImage) throws -> Data {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-fixture-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("x.png").path
        try image.writePNG(to: path)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// A fresh private temporary folder (removed by the caller).
    static func temporaryDirectory() -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-report-test-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}
