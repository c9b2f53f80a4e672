// swift-tools-version:6.1
// medpfl: privacy audit of federated-learning updates against gradient-leakage attacks.
// One target per layer; each imports only targets listed before it (see README, "Architecture").
import PackageDescription

#if arch(x86_64)
// Baseline x86_64 is SSE2-only: fused multiply-add becomes a libm call (30-50x slower).
// Haswell (AVX2 + FMA) is the floor of every machine this tool is benchmarked on.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
let fastC: [CSetting] = [.unsafeFlags(["-O3", "-march=haswell"], .when(configuration: .release))]
#else
let fastMath: [SwiftSetting] = []
let fastC: [CSetting] = []
#endif

let package = Package(
    name: "medpfl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "medpfl", targets: ["medpfl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // SHA-256 and Ed25519 (CryptoKit's API on Linux): digests and signatures of the audit log.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The zip container of PyTorch checkpoints (torch.save).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // CSV files (labels, manifests): RFC 4180.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        // ONNX model files (the message code is generated once by scripts/generate_onnx_proto.sh and committed).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System C libraries (module.modulemap + shim.h each).
        .systemLibrary(name: "CBLAS", path: "Sources/System/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/System/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCmark", path: "Sources/System/CCmark", pkgConfig: "libcmark",
                       providers: [.apt(["libcmark-dev"])]),
        // DICOM through GDCM (Debian's libgdcm-dev; no pkg-config file, so its header folder is named here): a
        // small C++ target with a C interface (include/medpfl_gdcm.h), so Swift needs no C++ interop.
        .target(name: "GDCMBridge", path: "Sources/System/GDCMBridge",
                cxxSettings: [.unsafeFlags(["-I/usr/include/gdcm-3.0"])],
                linkerSettings: [.linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmCommon")]),
        // JPEG (libjpeg-turbo), TIFF (libtiff) and NIfTI (nifticlib: libnifti2, its header from libniftiio-dev, and
        // libznz) decoding in C: they report errors in ways Swift cannot catch, or print them.
        .target(name: "RasterCodecs", path: "Sources/System/RasterCodecs",
                cSettings: fastC + [.unsafeFlags(["-I/usr/include/nifti"])],
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("tiff"), .linkedLibrary("nifti2"), .linkedLibrary("znz"), .linkedLibrary("z")]),
        // libpng's low-level API reports errors by longjmp, which Swift cannot catch: a small C codec does.
        .target(name: "PNGCodec", dependencies: ["CPNG"], path: "Sources/System/PNGCodec", cSettings: fastC),

        // 0. Safe file I/O: bounded reads of regular files only, owner-only atomic writes that never follow a
        //    link, temporaries removed on signals; process identity for locks. Foundation only.
        .target(name: "SafeIO"),

        // 1. Tensors, kernels and reverse-mode autodiff with gradients of gradients.
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: fastMath),
        // 2. Model graphs and their ops, model zoo (torchvision's names), model files, ONNX import, safetensors,
        //    PyTorch checkpoints.
        .target(name: "NN", dependencies: ["Tensor", "SafeIO", .product(name: "Yams", package: "Yams"),
                                   .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                                   .product(name: "SwiftProtobuf", package: "swift-protobuf")], swiftSettings: fastMath),
        // 2. Images in (PNG, JPEG, TIFF, DICOM with its modality LUT and windowing), resizing, data sets (ImageFolder, labels).
        .target(name: "Imaging", dependencies: ["Tensor", "SafeIO", "PNGCodec", "GDCMBridge", "RasterCodecs",
                                                .product(name: "CSV", package: "CSV.swift")], swiftSettings: fastMath),
        // 3. Federated simulation, client updates and defences; DP accountant.
        .target(name: "Federated", dependencies: ["NN", "Imaging"], swiftSettings: fastMath),
        // 4. Reconstruction quality: MSE, PSNR, SSIM, matching.
        .target(name: "Metrics", dependencies: ["Tensor"], swiftSettings: fastMath),
        // 4. Optimisers and the gradient-leakage attacks. They see only what an attacker holds: no target
        //    below them carries the original images' scores, and Metrics is not among their dependencies.
        .target(name: "Attacks", dependencies: ["Federated"], swiftSettings: fastMath),
        // 5. Scoring a finished attack against the original images (the ground truth lives above the attacks).
        .target(name: "Evaluation", dependencies: ["Attacks", "Metrics", "Imaging"], swiftSettings: fastMath),
        // 6. Audit definitions, runner, SQLite audit log.
        .target(name: "Audit", dependencies: ["Evaluation", "SafeIO", .product(name: "GRDB", package: "GRDB.swift"),
                                              .product(name: "Yams", package: "Yams"),
                                              .product(name: "Crypto", package: "swift-crypto")], swiftSettings: fastMath),
        // 7. Markdown/HTML risk reports.
        .target(name: "Report", dependencies: ["Audit", "SafeIO", "CCmark", .product(name: "Mustache", package: "swift-mustache")],
                swiftSettings: fastMath),
        // 8. The command-line tool.
        .executableTarget(name: "medpfl", dependencies: ["Report", "SafeIO", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: fastMath),

        // Seeded input mutations for the fuzz tests (test-only; no product depends on it).
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        // Finite-difference checks of first and second derivatives (test-only).
        .target(name: "NumericsSupport", dependencies: ["Tensor"], path: "Tests/NumericsSupport", swiftSettings: fastMath),
        .testTarget(name: "SafeIOTests", dependencies: ["SafeIO"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "NumericsSupport"], swiftSettings: fastMath),
        .testTarget(name: "NNTests", dependencies: ["NN", "Imaging", "FuzzSupport", "NumericsSupport"], exclude: ["Fixtures"], swiftSettings: fastMath),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "FuzzSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "Imaging"], exclude: ["Fixtures"]),
        .testTarget(name: "FederatedTests", dependencies: ["Federated", "FuzzSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "AttacksTests", dependencies: ["Attacks", "Evaluation", "Imaging"], exclude: ["Fixtures"], swiftSettings: fastMath),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Evaluation", "Metrics", "FuzzSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Attacks"], exclude: ["Fixtures"]),
        .testTarget(name: "CLITests", dependencies: ["medpfl", .product(name: "GRDB", package: "GRDB.swift")], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
