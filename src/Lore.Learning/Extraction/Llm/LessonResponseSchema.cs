using System.Globalization;
using System.Text.Json;
using Lore.Learning.Text;

namespace Lore.Learning.Extraction.Llm;

/// <summary>A lesson as the model proposed it, after every field passed validation.</summary>
internal sealed record ProposedLesson(
    LessonKind Kind,
    string Text,
    IReadOnlyList<string> Keywords,
    IReadOnlyList<string> Tools,
    TrajectorySegment Segment,
    IReadOnlyList<int> Steps,
    double Confidence,
    string? Rationale);

/// <summary>
/// The JSON the extraction prompt asks for, and a strict validator for it: the whole answer is accepted or rejected
/// with the first problem found (path and reason); nothing is taken from an answer that is partly wrong.
/// </summary>
internal sealed class LessonResponseSchema
{
    public const int MinTextLength = 12;
    public const int MaxTextLength = 300;
    public const int MaxKeywords = 8;
    public const int MaxTools = 5;
    public const int MaxSteps = 20;
    public const int MaxRationaleLength = 500;

    private static readonly Dictionary<string, LessonKind> Kinds = new(StringComparer.Ordinal)
    {
        ["guideline"] = LessonKind.Guideline,
        ["procedure"] = LessonKind.Procedure,
        ["tool_guide"] = LessonKind.ToolGuide,
        ["anti_pattern"] = LessonKind.AntiPattern,
        ["user_fact"] = LessonKind.UserFact,
    };

    private static readonly HashSet<string> Required = new(StringComparer.Ordinal) { "kind", "text", "keywords", "segment", "steps", "confidence" };

    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal) { "kind", "text", "keywords", "tools", "segment", "steps", "confidence", "rationale" };

    public LessonResponseSchema(int maxLessons) => MaxLessons = maxLessons;

    public int MaxLessons { get; }

    /// <summary>The schema as written into the prompt.</summary>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $$"""
        Answer with one JSON object and nothing else, exactly of this shape:
        {
          "lessons": [
            {
              "kind": "guideline" | "procedure" | "tool_guide" | "anti_pattern" | "user_fact",
              "text": "the advice, imperative, {{MinTextLength}} to {{MaxTextLength}} characters, no ids or amounts of this episode",
              "keywords": ["1 to {{MaxKeywords}} words a future task would mention when the lesson applies"],
              "tools": ["0 to {{MaxTools}} tool names, each called in the cited segment"],
              "segment": <number of the segment that shows the lesson>,
              "steps": [<1 to {{MaxSteps}} step numbers inside that segment>],
              "confidence": <number from 0 to 1>,
              "rationale": "optional, at most {{MaxRationaleLength}} characters: what in those steps shows it"
            }
          ]
        }
        At most {{MaxLessons}} lessons; an empty list is a good answer when the segments teach nothing reusable. No other properties.
        """);

    /// <summary>Validates a model answer against the segments it was shown and the tools of the episode.</summary>
    public bool TryValidate(string? answer, IReadOnlyList<TrajectorySegment> segments, out IReadOnlyList<ProposedLesson> lessons, out string problem)
    {
        lessons = [];
        problem = "";
        if (string.IsNullOrWhiteSpace(answer))
        {
            problem = "the answer is empty";
            return false;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(JsonText.StripFence(answer));
        }
        catch (JsonException e)
        {
            problem = $"the answer is not valid JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = $"the answer is {Describe(root)}, expected an object";
                return false;
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name != "lessons")
                {
                    problem = $"unexpected property '{property.Name}'";
                    return false;
                }
            }

            if (!root.TryGetProperty("lessons", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                problem = "lessons is missing or not an array";
                return false;
            }

            if (array.GetArrayLength() > MaxLessons)
            {
                problem = $"lessons has {array.GetArrayLength()} items, at most {MaxLessons} allowed";
                return false;
            }

            var result = new List<ProposedLesson>();
            var i = -1;
            foreach (var item in array.EnumerateArray())
            {
                i++;
                if (!TryLesson(item, $"lessons[{i}]", segments, out var lesson, out problem))
                {
                    return false;
                }

                result.Add(lesson);
            }

            lessons = result;
            return true;
        }
    }

    private static bool TryLesson(JsonElement item, string path, IReadOnlyList<TrajectorySegment> segments, out ProposedLesson lesson, out string problem)
    {
        lesson = null!;
        problem = "";
        bool Fail(string field, string why, out string p)
        {
            p = field.Length == 0 ? $"{path}: {why}" : $"{path}.{field}: {why}";
            return false;
        }

        if (item.ValueKind != JsonValueKind.Object)
        {
            return Fail("", $"is {Describe(item)}, expected an object", out problem);
        }

        foreach (var property in item.EnumerateObject())
        {
            if (!Allowed.Contains(property.Name))
            {
                return Fail("", $"unexpected property '{property.Name}'", out problem);
            }
        }

        foreach (var name in Required)
        {
            if (!item.TryGetProperty(name, out _))
            {
                return Fail(name, "is missing", out problem);
            }
        }

        var kindJson = item.GetProperty("kind");
        if (kindJson.ValueKind != JsonValueKind.String || !Kinds.TryGetValue(kindJson.GetString()!, out var kind))
        {
            return Fail("kind", $"must be one of {string.Join(", ", Kinds.Keys)}", out problem);
        }

        var textJson = item.GetProperty("text");
        var text = textJson.ValueKind == JsonValueKind.String ? textJson.GetString()!.Trim() : null;
        if (text is null || text.Length is < MinTextLength or > MaxTextLength)
        {
            return Fail("text", $"must be a string of {MinTextLength} to {MaxTextLength} characters", out problem);
        }

        if (!TryStrings(item.GetProperty("keywords"), 1, MaxKeywords, 2, 40, out var keywords))
        {
            return Fail("keywords", $"must be 1 to {MaxKeywords} strings of 2 to 40 characters", out problem);
        }

        var segmentJson = item.GetProperty("segment");
        if (segmentJson.ValueKind != JsonValueKind.Number || !segmentJson.TryGetInt32(out var number))
        {
            return Fail("segment", "must be an integer", out problem);
        }

        var segment = segments.FirstOrDefault(s => s.Number == number);
        if (segment is null)
        {
            return Fail("segment", $"{number} is not one of the segments shown ({string.Join(", ", segments.Select(s => s.Number))})", out problem);
        }

        var stepsJson = item.GetProperty("steps");
        if (stepsJson.ValueKind != JsonValueKind.Array || stepsJson.GetArrayLength() is < 1 or > MaxSteps)
        {
            return Fail("steps", $"must be an array of 1 to {MaxSteps} step numbers", out problem);
        }

        var steps = new List<int>();
        var k = -1;
        foreach (var stepJson in stepsJson.EnumerateArray())
        {
            k++;
            if (stepJson.ValueKind != JsonValueKind.Number || !stepJson.TryGetInt32(out var step))
            {
                return Fail($"steps[{k}]", "must be an integer", out problem);
            }

            if (!segment.Contains(step))
            {
                return Fail($"steps[{k}]", $"step {step} is outside segment {segment.Number} (steps {segment.FirstStep}-{segment.LastStep})", out problem);
            }

            if (steps.Contains(step))
            {
                return Fail($"steps[{k}]", $"step {step} is listed twice", out problem);
            }

            steps.Add(step);
        }

        IReadOnlyList<string> tools = [];
        if (item.TryGetProperty("tools", out var toolsJson))
        {
            if (!TryStrings(toolsJson, 0, MaxTools, 1, 200, out var named))
            {
                return Fail("tools", $"must be 0 to {MaxTools} tool names", out problem);
            }

            var unknown = named.FirstOrDefault(t => !segment.Tools.Contains(t));
            if (unknown is not null)
            {
                return Fail("tools", $"'{unknown}' is not called in segment {segment.Number}", out problem);
            }

            tools = named;
        }

        var confidenceJson = item.GetProperty("confidence");
        if (confidenceJson.ValueKind != JsonValueKind.Number || !confidenceJson.TryGetDouble(out var confidence) || double.IsNaN(confidence) || confidence is < 0 or > 1)
        {
            return Fail("confidence", "must be a number from 0 to 1", out problem);
        }

        string? rationale = null;
        if (item.TryGetProperty("rationale", out var rationaleJson) && rationaleJson.ValueKind != JsonValueKind.Null)
        {
            if (rationaleJson.ValueKind != JsonValueKind.String || rationaleJson.GetString()!.Length > MaxRationaleLength)
            {
                return Fail("rationale", $"must be a string of at most {MaxRationaleLength} characters", out problem);
            }

            rationale = rationaleJson.GetString();
        }

        lesson = new ProposedLesson(kind, text, keywords, tools, segment, steps, confidence, rationale);
        return true;
    }

    private static bool TryStrings(JsonElement array, int min, int max, int minLength, int maxLength, out IReadOnlyList<string> values)
    {
        values = [];
        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() < min || array.GetArrayLength() > max)
        {
            return false;
        }

        var list = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            var value = item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim() : null;
            if (value is null || value.Length < minLength || value.Length > maxLength)
            {
                return false;
            }

            list.Add(value);
        }

        values = list.Distinct(StringComparer.Ordinal).ToArray();
        return true;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
