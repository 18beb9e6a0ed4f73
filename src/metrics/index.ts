export { MnistClassifier, loadClassifier, saveClassifier, trainClassifier, classify, accuracy, type ClassifierTrainOptions, type ClassifierOutputs } from './classifier';
export { gaussianStats, symmetricEigen, sqrtPsd, traceSqrtProduct, frechetDistance, type GaussianStats, type SymmetricMatrix } from './frechet';
export { sampleQuality, featureStats, type SampleQuality } from './quality';
export { evaluateMnist, measureMnistSamples, type ImageDrawer, type MnistEvaluation, type MnistEvaluationOptions } from './evaluate';
