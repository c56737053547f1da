//! `punte analysis effects|ranking|map INDICATOR` (comparative analysis of one indicator over
//! the node's own evaluations and its partners' replicas) and `punte export --iati`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use punte_model::IndicatorRef;
use punte_model::analysis::EffectMetric;
use punte_node::Node;
use punte_node::analysis::{AnalysisReport, csv_text};
use punte_node::iati::IatiOptions;

#[derive(Debug, Subcommand)]
pub enum AnalysisCommand {
    /// Per-evaluation effects of one indicator (code@version), own and partners'.
    Effects(AnalysisArgs),
    /// Practices ranked for replication by the lower bound of their pooled effect.
    Ranking(AnalysisArgs),
    /// The replication map: origin practices to adopters by country, with their effects.
    Map(AnalysisArgs),
}

#[derive(Debug, Args)]
pub struct AnalysisArgs {
    /// The indicator as code@version, e.g. esl-rate@1.
    pub indicator: String,
    #[arg(long, value_parser = ["json", "csv"], default_value = "json")]
    pub format: String,
    /// logRiskRatio, riskDifference, standardisedMeanDifference or meanDifference
    /// [default: the one the indicator's measure calls for].
    #[arg(long)]
    pub metric: Option<String>,
}

pub fn analysis(node: &Node, cmd: AnalysisCommand) -> anyhow::Result<()> {
    match cmd {
        AnalysisCommand::Effects(a) => {
            let (indicator, metric) = parse(&a)?;
            let r = node.analysis_effects(&indicator, metric)?;
            print(&a.format, &r, |t| t.to_csv_rows())
        }
        AnalysisCommand::Ranking(a) => {
            let (indicator, metric) = parse(&a)?;
            let r = node.analysis_ranking(&indicator, metric, Default::default())?;
            print(&a.format, &r, |t| t.to_csv_rows())
        }
        AnalysisCommand::Map(a) => {
            let (indicator, metric) = parse(&a)?;
            let r = node.analysis_replication_map(&indicator, metric, Default::default())?;
            print(&a.format, &r, |t| t.to_csv_rows())
        }
    }
}

fn parse(a: &AnalysisArgs) -> anyhow::Result<(IndicatorRef, Option<EffectMetric>)> {
    let indicator: IndicatorRef = a
        .indicator
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let metric = a
        .metric
        .as_deref()
        .map(|m| {
            serde_json::from_value::<EffectMetric>(serde_json::Value::String(m.to_owned()))
                .map_err(|_| anyhow::anyhow!("--metric: '{m}' is not a metric (logRiskRatio, riskDifference, standardisedMeanDifference, meanDifference)"))
        })
        .transpose()?;
    Ok((indicator, metric))
}

fn print<T: Serialize>(
    format: &str,
    report: &AnalysisReport<T>,
    csv_rows: impl Fn(&T) -> Vec<Vec<String>>,
) -> anyhow::Result<()> {
    let text = if format == "csv" {
        csv_text(&csv_rows(&report.result))?
    } else {
        let mut s = serde_json::to_string_pretty(report)?;
        s.push('\n');
        s
    };
    std::io::stdout().write_all(text.as_bytes())?;
    if !report.skipped.is_empty() {
        eprintln!(
            "{} object(s) gave no row; see \"skipped\" in the JSON output",
            report.skipped.len()
        );
    }
    Ok(())
}

/// `punte export --iati`: the evaluations as IATI 2.03 activity results.
pub fn export_iati(
    node: &Node,
    out: Option<PathBuf>,
    org_ref: Option<String>,
) -> anyhow::Result<()> {
    let xml = node.export_iati(&IatiOptions {
        org_ref,
        org_type: None,
    })?;
    match out {
        Some(path) => {
            std::fs::write(&path, xml)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("IATI 2.03 export written to {}", path.display());
        }
        None => std::io::stdout().write_all(xml.as_bytes())?,
    }
    Ok(())
}
