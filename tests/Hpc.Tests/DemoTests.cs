using Hpc.Cli;
using Xunit;

namespace Hpc.Tests;

/// <summary>hpc demo --quick runs every lesson and writes a self-contained HTML report with a chart per experiment.</summary>
public class DemoTests
{
    [Fact]
    public void QuickDemoWritesTheReport()
    {
        string report = Path.Combine(TestData.TempDir(), "report.html");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = HpcCli.Run(["demo", "--quick", "--quiet", "--report", report], o, e);
        Assert.True(code == 0, e.ToString());
        string html = File.ReadAllText(report);
        foreach (string id in new[] { "gradients", "exploding", "regression", "optimizers", "hmm", "text" })
            Assert.Contains($"<section id=\"{id}\">", html);
        int svgs = html.Split("<svg").Length - 1;
        Assert.True(svgs >= 11, $"expected a chart for every experiment, found {svgs}");
        Assert.Contains("<polyline", html);
        Assert.Contains("<rect", html);
        Assert.DoesNotContain("no finite data", html);
        string text = o.ToString();
        Assert.Contains("Vanishing", text);
        Assert.Contains("Exploding", text);
        Assert.Contains("states recovered", text);
        Assert.Contains("It was the ", text);
    }

    [Fact]
    public void EachPartRunsAlone()
    {
        var o = new StringWriter();
        Assert.Equal(0, HpcCli.Run(["demo", "hmm", "--quick", "--quiet"], o, new StringWriter()));
        Assert.Contains("states recovered", o.ToString());
        Assert.DoesNotContain("SimpleRNN", o.ToString());
        Assert.Equal(2, HpcCli.Run(["demo", "transformers"], new StringWriter(), new StringWriter()));
    }
}
