// Starting points for inline-policy requests: least-privilege policies for common needs, each made from a
// few parameters (a bucket name, a queue's ARN, …). Pure data and functions: the request panel uses them,
// and the unit tests check that every one lints valid with the shared policy lint.

export type TemplateId =
  | "s3-read"
  | "s3-read-write"
  | "sqs-send-receive"
  | "sns-publish"
  | "dynamodb-read"
  | "dynamodb-read-write"
  | "kms-decrypt"
  | "secrets-read"
  | "custom";

export interface TemplateParameter {
  /** The key in the values given to `make`. */
  key: string;
  /** The field's label. */
  label: string;
  /** An example value: the field's placeholder, and what the tests fill in. */
  example: string;
  /** A line explaining what is wanted, or null when the value is fine. */
  check(value: string): string | null;
}

export interface PolicyTemplate {
  id: TemplateId;
  title: string;
  /** One line on what the policy allows. */
  summary: string;
  parameters: TemplateParameter[];
  /** The policy, pretty-printed (two spaces), for values that pass every parameter's check. */
  make(values: Readonly<Record<string, string>>): string;
}

const VERSION = "2012-10-17";

interface Statement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
}

function pretty(...statements: Statement[]): string {
  return JSON.stringify({ Version: VERSION, Statement: statements }, null, 2);
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bucketParameter(): TemplateParameter {
  return {
    key: "bucket",
    label: "Bucket name",
    example: "team-reports",
    check(v) {
      if (v.startsWith("arn:")) return "the bucket's name, not its ARN (like team-reports)";
      if (!BUCKET.test(v) || v.includes(".."))
        return "a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens";
      return null;
    },
  };
}

/** A parameter holding an ARN of one service and resource type (`table/…`, `key/…`, …). */
function arnParameter(
  key: string,
  label: string,
  service: string,
  resource: RegExp,
  example: string,
  what: string,
): TemplateParameter {
  const pattern = new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:${resource.source}$`);
  return {
    key,
    label,
    example,
    check: (v) => (pattern.test(v) ? null : `${what}, like ${example}`),
  };
}

const get = (values: Readonly<Record<string, string>>, key: string) => (values[key] ?? "").trim();

const S3_READ = ["s3:GetObject", "s3:GetObjectVersion"];
const S3_WRITE = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
const DYNAMODB_READ = [
  "dynamodb:BatchGetItem",
  "dynamodb:ConditionCheckItem",
  "dynamodb:DescribeTable",
  "dynamodb:GetItem",
  "dynamodb:Query",
  "dynamodb:Scan",
];
const DYNAMODB_WRITE = [
  "dynamodb:BatchWriteItem",
  "dynamodb:DeleteItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
];

function s3(readWrite: boolean): PolicyTemplate["make"] {
  return (values) => {
    const bucket = get(values, "bucket");
    return pretty(
      {
        Sid: "ListBucket",
        Effect: "Allow",
        Action: ["s3:GetBucketLocation", "s3:ListBucket"],
        Resource: `arn:aws:s3:::${bucket}`,
      },
      {
        Sid: readWrite ? "ReadWriteObjects" : "ReadObjects",
        Effect: "Allow",
        Action: readWrite ? [...S3_READ, ...S3_WRITE] : S3_READ,
        Resource: `arn:aws:s3:::${bucket}/*`,
      },
    );
  };
}

function dynamodb(readWrite: boolean): PolicyTemplate["make"] {
  return (values) => {
    const table = get(values, "table");
    return pretty({
      Sid: readWrite ? "ReadWriteTable" : "ReadTable",
      Effect: "Allow",
      Action: readWrite ? [...DYNAMODB_READ, ...DYNAMODB_WRITE].sort() : DYNAMODB_READ,
      Resource: [table, `${table}/index/*`],
    });
  };
}

const TABLE = () =>
  arnParameter(
    "table",
    "Table ARN",
    "dynamodb",
    /table\/[A-Za-z0-9_.-]{3,255}/,
    "arn:aws:dynamodb:eu-west-1:333333333333:table/orders",
    "a DynamoDB table's ARN",
  );

export const POLICY_TEMPLATES: readonly PolicyTemplate[] = [
  {
    id: "s3-read",
    title: "S3 bucket: read",
    summary: "List the bucket and read its objects.",
    parameters: [bucketParameter()],
    make: s3(false),
  },
  {
    id: "s3-read-write",
    title: "S3 bucket: read and write",
    summary: "List the bucket, read, write and delete its objects.",
    parameters: [bucketParameter()],
    make: s3(true),
  },
  {
    id: "sqs-send-receive",
    title: "SQS queue: send and receive",
    summary: "Send messages to one queue, receive and delete them.",
    parameters: [
      arnParameter(
        "queue",
        "Queue ARN",
        "sqs",
        /[A-Za-z0-9_-]{1,80}(\.fifo)?/,
        "arn:aws:sqs:eu-west-1:333333333333:orders",
        "an SQS queue's ARN",
      ),
    ],
    make: (values) =>
      pretty({
        Sid: "SendReceive",
        Effect: "Allow",
        Action: [
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
          "sqs:ReceiveMessage",
          "sqs:SendMessage",
        ],
        Resource: get(values, "queue"),
      }),
  },
  {
    id: "sns-publish",
    title: "SNS topic: publish",
    summary: "Publish messages to one topic.",
    parameters: [
      arnParameter(
        "topic",
        "Topic ARN",
        "sns",
        /[A-Za-z0-9_-]{1,256}(\.fifo)?/,
        "arn:aws:sns:eu-west-1:333333333333:alerts",
        "an SNS topic's ARN",
      ),
    ],
    make: (values) =>
      pretty({
        Sid: "Publish",
        Effect: "Allow",
        Action: ["sns:GetTopicAttributes", "sns:Publish"],
        Resource: get(values, "topic"),
      }),
  },
  {
    id: "dynamodb-read",
    title: "DynamoDB table: read",
    summary: "Read items of one table and its indexes.",
    parameters: [TABLE()],
    make: dynamodb(false),
  },
  {
    id: "dynamodb-read-write",
    title: "DynamoDB table: read and write",
    summary: "Read, write and delete items of one table; query its indexes.",
    parameters: [TABLE()],
    make: dynamodb(true),
  },
  {
    id: "kms-decrypt",
    title: "KMS key: decrypt",
    summary: "Decrypt with one key.",
    parameters: [
      arnParameter(
        "key",
        "Key ARN",
        "kms",
        /key\/[A-Za-z0-9-]{1,128}/,
        "arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "a KMS key's ARN (key/…)",
      ),
    ],
    make: (values) =>
      pretty({
        Sid: "Decrypt",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:DescribeKey"],
        Resource: get(values, "key"),
      }),
  },
  {
    id: "secrets-read",
    title: "Secrets Manager: read a secret",
    summary: "Read one secret's value.",
    parameters: [
      arnParameter(
        "secret",
        "Secret ARN",
        "secretsmanager",
        /secret:[A-Za-z0-9/_+=.@-]{1,512}/,
        "arn:aws:secretsmanager:eu-west-1:333333333333:secret:db-password-AbCdEf",
        "a secret's ARN (secret:…)",
      ),
    ],
    make: (values) =>
      pretty({
        Sid: "ReadSecret",
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        Resource: get(values, "secret"),
      }),
  },
  {
    id: "custom",
    title: "Custom",
    summary: "Write the policy yourself; actions complete as you type.",
    parameters: [],
    make: () =>
      pretty({
        Sid: "Custom",
        Effect: "Allow",
        Action: ["s3:ListAllMyBuckets"],
        Resource: "*",
      }),
  },
];

export function policyTemplate(id: TemplateId): PolicyTemplate {
  const t = POLICY_TEMPLATES.find((x) => x.id === id);
  if (!t) throw new Error(`no policy template ${id}`);
  return t;
}

/** Each parameter's problem (only those with one). */
export function templateProblems(
  t: PolicyTemplate,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of t.parameters) {
    const v = get(values, p.key);
    const problem = v === "" ? "required" : p.check(v);
    if (problem) out[p.key] = problem;
  }
  return out;
}

/** The examples of every parameter: a policy the panel can show before anything is typed. */
export function templateExamples(t: PolicyTemplate): Record<string, string> {
  return Object.fromEntries(t.parameters.map((p) => [p.key, p.example]));
}
