import Foundation

/// The executive summary in plain words: the verdict at the declared setting, label leakage, the
/// recommendation and its accuracy cost, and a paragraph to paste into a filing.
///
/// Every sentence is Markdown; every user-supplied string in it is escaped (`Escaping.markdown`).
struct ExecutiveSummary {
    let verdict: String
    let labelLeakage: String
    /// *Markdown*: re-identification at the declared setting ("" when not measured).
    let reidentification: String
    let recommendation: String
    let accuracyCost: String
    let filing: String
    /// One row per threat model in scope (empty for data without threat models).
    let threats: [ThreatLine]
    /// *Markdown*: the method's paragraph on who attacks.
    let threatMethod: String

    struct ThreatLine { let who: String, attacks: String, band: String, stoppedBy: String, notStoppedBy: String }

    init(_ data: ReportData) {
        let m = data.metadata
        let declared = data.setting(m.declaredSetting)!
        let rows = data.rows(setting: declared.id).filter(\.applied)
        let worst = Self.strongest(rows)
        let threshold = ReportNumbers.ssim(m.successThreshold)
        let md = Escaping.markdown

        // Verdict.
        var v = ""
        if let w = worst, let a = data.attack(w.attack) {
            if w.asr > 0 {
                v += a.threatModel == "malicious-server"
                    ? "With the strongest attack, \(md(a.name)), a server that sends the site a modified model and reads a single model update sent at "
                    : "With the strongest attack, \(md(a.name)), someone who intercepts a single model update sent at "
                v += "the declared setting, \(md(declared.label)), rebuilds **\(ReportNumbers.count(w.asr, of: w.images)) "
                v += "images** recognisably (SSIM at least \(threshold); mean SSIM \(ReportNumbers.ssim(w.meanSSIM)), "
                v += "best image \(ReportNumbers.ssim(w.maxSSIM))"
                if let i = w.asrInterval, i.count == 2 { v += "; attack success 95% CI \(ReportNumbers.interval(i[0], i[1]))" }
                v += ")."
            } else {
                v += "At the declared setting, \(md(declared.label)), no attack rebuilt any of the \(w.images) images "
                v += "recognisably (SSIM at least \(threshold)); the closest, \(md(a.name)), reached a mean SSIM of "
                v += "\(ReportNumbers.ssim(w.meanSSIM)) (best image \(ReportNumbers.ssim(w.maxSSIM)))."
                if let i = w.asrInterval, i.count == 2 {
                    v += " From \(w.images) images this is compatible with a true success rate of up to \(ReportNumbers.percent(i[1])) (95% interval)."
                }
            }
        } else {
            v += "No attack was run at the declared setting, \(md(declared.label))."
        }
        v += " The overall risk is **\(ReportData.RiskLevel.title(declared.band))**"
        v += "."
        if let def = data.bands.first(where: { $0.level == declared.band }) {
            v += " \(def.level.title) risk means: \(md(def.criterion))."
        }
        // Trials stopped by their budget while still improving: the band may under-state the risk (said only
        // where it could: below HIGH).
        let unconverged = rows.compactMap(\.evidence).reduce((0, 0)) { ($0.0 + $1.notConverged, $0.1 + $1.judgedTrials) }
        if unconverged.0 > 0 && declared.band != .high {
            v += " **Caution:** \(unconverged.0) of the \(unconverged.1) optimisation trials at this setting stopped while their loss was still "
            v += "falling (by more than 10% over their last 10% of iterations): with a larger iteration budget the risk may be higher than rated."
        }
        verdict = v

        // Re-identification: the attack whose reconstructions single out the most patients.
        let measured = rows.filter { ($0.evidence?.scored ?? 0) > 0 }
        if let top = measured.max(by: { a, b in
            let (x, y) = (a.evidence!, b.evidence!)
            return Double(x.reidentified) / Double(x.scored) < Double(y.reidentified) / Double(y.scored)
        }), let e = top.evidence, let a = data.attack(top.attack) {
            var s = "\(md(a.name))'s reconstructions single out their patient (the true image ranks first among \(e.pool) of the site's images, "
            s += "by SSIM or by the model's features) for **\(e.reidentified) of \(e.scored) images**"
            if e.interval.count == 2 { s += " (95% CI \(ReportNumbers.interval(e.interval[0], e.interval[1])))" }
            s += "; in the top 5 for \(e.top5). A reconstruction that is not pixel-perfect can still re-identify a patient."
            reidentification = s
        } else {
            reidentification = ""
        }

        // Label leakage.
        let leaks = rows.filter { $0.labelLeakage != nil }
        if let top = leaks.max(by: { $0.labelLeakage! < $1.labelLeakage! }), let a = data.attack(top.attack) {
            let share = top.labelLeakage!
            if share > 0 {
                labelLeakage = "\(md(a.name)) recovered the true class of **\(ReportNumbers.count(share, of: top.images)) images** "
                    + "(\(ReportNumbers.percent(share))) from a single update at the declared setting. The class of a medical "
                    + "image can itself be sensitive (it may reveal the diagnosis)."
            } else {
                labelLeakage = "no attack recovered the class of any image at the declared setting."
            }
        } else {
            labelLeakage = "not measured: no attack at the declared setting infers labels."
        }

        // Recommendation and its cost.
        let rec = data.recommendation
        let recSetting = rec?.setting.flatMap(data.setting)
        var r: String
        if let s = recSetting {
            if s.id == declared.id {
                r = "keep the declared setting, \(md(s.label)) (\(Escaping.codeSpan(s.id)))."
            } else {
                r = "\(md(s.label)) (\(Escaping.codeSpan(s.id))), rated **\(ReportData.RiskLevel.title(s.band))**"
                if let w = Self.strongest(data.rows(setting: s.id).filter(\.applied)) {
                    r += ": the strongest attack there rebuilds \(ReportNumbers.count(w.asr, of: w.images)) images "
                    r += "(mean SSIM \(ReportNumbers.ssim(w.meanSSIM)))"
                }
                r += "."
            }
        } else {
            r = "none."
        }
        if let why = rec?.rationale, !why.isEmpty { r += " " + md(why) }
        else if recSetting == nil { r += " No tested setting lowered the risk far enough." }
        recommendation = r

        if let u = data.utility, let s = recSetting, let acc = s.testAccuracy {
            let cost = (u.baselineAccuracy - acc) * 100
            var c = "test accuracy \(ReportNumbers.accuracy(acc)) with the recommended setting, "
            if abs(cost) < 0.05 {
                c += "the same as without any defence"
            } else {
                c += "\(ReportNumbers.fixed(abs(cost), 1)) percentage points \(cost > 0 ? "below" : "above") the "
                c += "\(ReportNumbers.accuracy(u.baselineAccuracy)) without any defence"
            }
            if s.id != declared.id, let d = declared.testAccuracy { c += " (\(ReportNumbers.accuracy(d)) at the declared setting)" }
            accuracyCost = c + "."
        } else if data.utility == nil {
            accuracyCost = "not measured in this audit."
        } else if recSetting == nil {
            accuracyCost = "no setting is recommended; the test accuracy of every setting is in the table below."
        } else {
            accuracyCost = "not measured for the recommended setting."
        }

        filing = Self.filing(data, declared: declared, worst: worst, topLeak: leaks.map { $0.labelLeakage! }.max(),
                             recommended: recSetting)
        threats = (data.threats ?? []).map { t in
            func label(_ id: String) -> String { data.setting(id)?.label ?? id }
            let names = t.attacks.map { data.attack($0)?.name ?? $0 }
            return ThreatLine(who: t.description.prefix(1).uppercased() + t.description.dropFirst(),
                              attacks: names.isEmpty ? "none run" : names.joined(separator: "; "),
                              band: t.attacks.isEmpty ? "Not assessed" : ReportData.RiskLevel.title(t.declaredBand),
                              stoppedBy: !t.assessed ? "—" : t.stoppedBy.isEmpty ? "no tested setting" : t.stoppedBy.map(label).joined(separator: "; "),
                              notStoppedBy: !t.assessed ? "—" : t.notStoppedBy.isEmpty ? "none"
                                : t.notStoppedBy.map { "\(label($0.setting)) (\(ReportData.RiskLevel.title($0.band)))" }.joined(separator: "; "))
        }
        threatMethod = Self.threatMethod(data)
    }

    /// Who attacks, per threat model in scope.
    static func threatMethod(_ data: ReportData) -> String {
        let honest = "The attacker is the aggregation server, or anyone who can read the traffic to it. They see one model update "
            + "sent by the site (the gradient of one local training step on a batch of images), know the model's architecture and "
            + "current weights, and have no access to the site's data. From that single update they try to rebuild the images, and "
            + "their classes, that produced it. This is the setting of the published gradient-leakage attacks; a real attacker who "
            + "sees many updates can do at least as well."
        let malicious = "*Malicious server.* The server also chooses the model it sends: it changes the architecture or the weights (for instance "
            + "an imprint block in front of the site's model, Fowl et al. 2022) so that the update the site computes on that model "
            + "gives its images away; secure aggregation hides one site's update among others' only as far as the attack cannot "
            + "separate them, and a client can check the model it receives (`medpfl check-model`)."
        guard let threats = data.threats, !threats.isEmpty else { return honest }
        var out: [String] = []
        let ids = threats.map(\.id)
        out.append("The audit puts \(ids.count == 1 ? "one threat model" : "\(ids.count) threat models") in scope: "
                   + threats.map { $0.description }.joined(separator: "; ") + ". Each is rated on its own attacks, and the overall risk is the highest of those bands.")
        if ids.contains("eavesdropper") { out.append("*Eavesdropper or honest-but-curious server.* " + honest) }
        if ids.contains("malicious-server") { out.append(malicious) }
        return out.joined(separator: " ")
    }

    /// The paragraph a compliance officer can paste into a filing.
    static func filing(_ data: ReportData, declared: ReportData.Setting, worst: ReportData.Row?, topLeak: Double?,
                       recommended: ReportData.Setting?) -> String {
        let m = data.metadata, md = Escaping.markdown
        var f = "On \(ReportNumbers.day(m.startedAt)), \(md(m.site)) audited the federated-learning client of model \(md(m.model))"
        if let v = m.modelVersion { f += ", version \(md(v))" }
        if let h = m.weightsSHA256 { f += ", weights SHA-256 \(md(String(h.prefix(16))))…" }
        if m.modelVersion != nil || m.weightsSHA256 != nil { f += "," }
        f += " for gradient leakage with medpfl \(md(m.toolVersion)) (audit \(md(m.auditID)), seed \(m.seed)). "
        f += "\(data.attacks.count) reconstruction attack\(data.attacks.count == 1 ? " was" : "s were") run on "
        f += "\(m.sampleSize) image\(m.sampleSize == 1 ? "" : "s") from the site's own data at \(data.settings.count) "
        f += "defence setting\(data.settings.count == 1 ? "" : "s"). At the declared setting, \(md(declared.label)), "
        f += "the risk was rated \(ReportData.RiskLevel.title(declared.band).lowercased())"
        if let w = worst {
            if w.asr > 0 {
                f += ": the strongest attack rebuilt \(ReportNumbers.percent(w.asr)) of the images recognisably "
                f += "(SSIM at least \(ReportNumbers.ssim(m.successThreshold)))"
                if let l = topLeak, l > 0 { f += " and recovered the class of \(ReportNumbers.percent(l))" }
            } else {
                f += ": no attack rebuilt an image recognisably (best SSIM \(ReportNumbers.ssim(w.maxSSIM)))"
                if let l = topLeak, l > 0 { f += ", but the class of \(ReportNumbers.percent(l)) of the images was recovered" }
            }
        }
        f += ". "
        if let s = recommended {
            if s.id == declared.id {
                f += "The declared setting is the one the audit recommends."
            } else {
                f += "The audit recommends \(md(s.label)), rated \(ReportData.RiskLevel.title(s.band).lowercased())"
                if let u = data.utility, let a = s.testAccuracy {
                    let cost = (u.baselineAccuracy - a) * 100
                    f += cost >= 0.05
                        ? ", at a cost of \(ReportNumbers.fixed(cost, 1)) percentage points of test accuracy"
                        : ", with no loss of test accuracy"
                }
                f += "."
            }
        } else {
            f += "No tested setting lowered the risk to an acceptable band."
        }
        if let threats = data.threats, !threats.isEmpty {
            f += " By threat model: " + threats.map { t -> String in
                var x = "against \(t.description), "
                guard !t.attacks.isEmpty else { return x + "not assessed (no attack of this threat model was run)" }
                guard t.assessed else { return x + "not assessed (no attack of this threat model applied)" }
                x += ReportData.RiskLevel.title(t.declaredBand).lowercased() + " at the declared setting"
                let stops = t.stoppedBy.compactMap { data.setting($0)?.label }
                x += stops.isEmpty ? ", and no tested setting brought it to low" : "; low with \(stops.joined(separator: ", "))"
                return x
            }.map(md).joined(separator: "; ") + "."
        }
        if let digest = m.digest {
            f += " The audit log records this audit under SHA-256 digest \(digest)"
            if let k = m.signedBy { f += ", signed with key \(md(k))" }
            f += " (`medpfl verify \(md(m.auditID)) --expect \(digest.prefix(16))` checks that the log still holds exactly these results)."
        }
        return f
    }

    /// The most successful attack of some rows: highest ASR, then highest mean SSIM.
    static func strongest(_ rows: [ReportData.Row]) -> ReportData.Row? {
        rows.max { ($0.asr, $0.meanSSIM) < ($1.asr, $1.meanSSIM) }
    }
}
