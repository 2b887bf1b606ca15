// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ShardToken} from "../token/ShardToken.sol";
import {ProviderStaking} from "../staking/ProviderStaking.sol";
import {ModelRegistry} from "../registry/ModelRegistry.sol";
import {JobMarket} from "../market/JobMarket.sol";
import {SpotCheck} from "../market/SpotCheck.sol";
import {Disputes} from "../market/Disputes.sol";
import {ProtocolParams} from "../market/ProtocolParams.sol";
import {IProtocolParams} from "../interfaces/IProtocolParams.sol";
import {ISpotCheck} from "../interfaces/ISpotCheck.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {IStageProofVerifier} from "../interfaces/IStageProofVerifier.sol";
import {ReceiptHashing} from "../libraries/ReceiptHashing.sol";
import {JobId, ModelId} from "../types/Ids.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Drives whole job lifecycles on a 1-stage model with single-request receipts (so every
///         tree is one leaf and proofs are empty): open, submit (sometimes with a lying provider),
///         reveal, report unrevealed, settle, close, withdraw. Keeps ghost sums of token flows.
contract MarketHandler is TestBase {
    uint256 internal constant SESSION_PK = 0x5E55;
    uint256[2] internal providerPks = [uint256(0xB1), uint256(0xB2)];

    ShardToken public token;
    ProviderStaking public staking;
    ModelRegistry public registry;
    JobMarket public market;
    SpotCheck public spotCheck;
    Disputes public disputes;
    address public verifier;
    address public treasury = address(0x7EA);
    address public publisher = address(0x9B);

    struct PendingReceipt {
        JobId jobId;
        uint256 receiptId;
        address provider;
        uint256 index;
        bool lying;
    }

    JobId[] internal _jobs;
    PendingReceipt[] internal _pending;
    uint256 public ghostEscrowIn;
    uint256 public ghostWithdrawn;
    uint256 public ghostSlashedIn;
    uint256 public ghostSettled;
    mapping(bytes32 => bool) internal _settledOnce;
    bool public paidTwice;
    uint256 internal _nonce;

    function init() external {
        if (address(token) != address(0)) return; // the fuzzer may call it again
        token = new ShardToken(address(this), 1e30, 0);
        staking = new ProviderStaking(IERC20(address(token)), address(this), 7 days, 1e18);
        registry = new ModelRegistry();
        ProtocolParams params = new ProtocolParams(
            address(this),
            IProtocolParams.Params({
                reveal: 1 hours,
                challenge: 1 hours,
                handOff: 30 minutes,
                answer: 1 hours,
                commit: 30 minutes,
                voteReveal: 30 minutes,
                appeal: 30 minutes,
                maxJobDuration: 30 days,
                verifierFeeBps: 100,
                treasuryFeeBps: 100,
                challengerShareBps: 3_000,
                jurorShareBps: 1_000,
                collateralMultipleBps: 30_000,
                challengeBondBps: 10,
                minCollateral: 1e18,
                challengeBond: 1e17,
                attestDeposit: 1e18,
                jurorDeposit: 1e17,
                treasury: treasury
            })
        );
        market = new JobMarket(IERC20(address(token)), IProviderStaking(address(staking)), registry, params);
        spotCheck = new SpotCheck(market, staking, params);
        disputes = new Disputes(market, staking, registry, params, spotCheck);
        staking.setJobMarket(address(market));
        spotCheck.setDisputes(address(disputes));
        market.setAdjudicators(address(spotCheck), address(disputes));
        uint256[] memory floors = new uint256[](1);
        floors[0] = 1;
        vm.prank(publisher);
        registry.publish(
            IModelRegistry.ModelParams({
                onnxSha256: keccak256("m"),
                manifestHash: keccak256("p"),
                metadataURI: "",
                stageCount: 1,
                royaltyBps: 500,
                toleranceMicros: 0,
                samplingRatePpm: 1_000_000,
                hasZkStage: false,
                zkStage: 0,
                weightsCommitment: bytes32(0),
                zkVerifier: IStageProofVerifier(address(0)),
                priceFloors: floors
            })
        );
        verifier = address(0x5EE);
        _stake(verifier, 1e24);
        vm.prank(verifier);
        staking.registerVerifier();
        for (uint256 i; i < 2; ++i) _stake(vm.addr(providerPks[i]), 1e24);
        token.approve(address(market), type(uint256).max);
    }

    function _stake(address who, uint256 amount) private {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(staking), amount);
        staking.stake(amount);
        vm.stopPrank();
    }

    function _sign(uint256 pk, bytes32 structHash) private view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, MessageHashUtils.toTypedDataHash(market.domainSeparator(), structHash));
        return abi.encodePacked(r, s, v);
    }

    function openJob(uint256 who, uint256 maxInf, uint256 price) external {
        uint256 pk = providerPks[who % 2];
        maxInf = bound(maxInf, 1, 50);
        price = bound(price, 1, 1e18);
        IJobMarket.SignedQuote[] memory quotes = new IJobMarket.SignedQuote[](1);
        IJobMarket.Quote memory q = IJobMarket.Quote({
            modelId: ModelId.wrap(1),
            stage: 0,
            provider: vm.addr(pk),
            buyer: address(this),
            price: uint96(price),
            maxUnits: 1000,
            expiry: uint64(block.timestamp + 1 hours),
            maxJobExpiry: uint64(block.timestamp + 1 days),
            nonce: ++_nonce
        });
        quotes[0] = IJobMarket.SignedQuote({quote: q, signature: _sign(pk, ReceiptHashing.quoteHash(q))});
        IJobMarket.JobRequest memory req = IJobMarket.JobRequest({
            modelId: ModelId.wrap(1),
            maxUnits: uint32(maxInf),
            expiresAt: uint64(block.timestamp + 1 days),
            sessionKey: vm.addr(SESSION_PK)
        });
        uint256 escrow = market.escrowFor(req, quotes);
        // Collateral: max(minCollateral, 3 × price × min(maxInf, 1)) at a 100 % sampling rate.
        uint256 collateral = price * 3 > 1e18 ? price * 3 : 1e18;
        if (staking.freeStake(q.provider) < collateral) return;
        _jobs.push(market.openJob(req, quotes));
        ghostEscrowIn += escrow;
    }

    function submit(uint256 jobSeed, bool lying) external {
        if (_jobs.length == 0) return;
        JobId jobId = _jobs[jobSeed % _jobs.length];
        IJobMarket.Job memory j = market.job(jobId);
        if (j.status != IJobMarket.JobStatus.Open || j.count >= j.maxUnits || block.timestamp >= j.expiresAt) return;
        uint256 index = j.count;
        address provider;
        uint256 pk;
        for (uint256 i; i < 2; ++i) {
            if (market.isJobProvider(jobId, vm.addr(providerPks[i]))) (provider, pk) = (vm.addr(providerPks[i]), providerPks[i]);
        }
        if (market.isFaulted(jobId, provider)) return;
        address[] memory route = new address[](1);
        route[0] = provider;
        bytes32 outputRoot = ReceiptHashing.buyerLeaf(index, uint64(index), 1, _h(index, 0), _h(index, 1), ReceiptHashing.hashRoute(route));
        bytes32 root = ReceiptHashing.stageLeaf(index, lying ? bytes32(index + 7) : _h(index, 0), _h(index, 1));
        uint32 count = uint32(index + 1);
        uint32 served = market.stageTerms(jobId, 0, provider).served + 1;
        IJobMarket.StagePart[] memory parts = new IJobMarket.StagePart[](1);
        parts[0] = IJobMarket.StagePart({
            stage: 0,
            provider: provider,
            count: served,
            units: served,
            root: root,
            signature: _sign(pk, ReceiptHashing.providerReceiptHash(JobId.unwrap(jobId), 0, served, served, root, outputRoot))
        });
        bytes memory sessionSig = _sign(SESSION_PK, ReceiptHashing.buyerReceiptHash(JobId.unwrap(jobId), count, count, outputRoot));
        vm.prank(provider);
        uint256 receiptId = market.submitReceipt(jobId, count, count, outputRoot, sessionSig, parts);
        _pending.push(PendingReceipt(jobId, receiptId, provider, index, lying));
    }

    function reveal(uint256 seed) external {
        if (_pending.length == 0) return;
        PendingReceipt memory p = _pending[seed % _pending.length];
        if (!_seed(p)) return;
        (uint256 revealEnds,) = spotCheck.deadlines(p.jobId, p.receiptId);
        if (block.timestamp > revealEnds) return;
        if (spotCheck.sample(p.jobId, p.receiptId, 0).buyerRevealed) return;
        address[] memory route = new address[](1);
        route[0] = p.provider;
        IJobMarket.PartRecord[] memory parts = new IJobMarket.PartRecord[](1);
        bytes32 stageIn = p.lying ? bytes32(p.index + 7) : _h(p.index, 0);
        parts[0] = IJobMarket.PartRecord(0, p.provider, 1, 1, ReceiptHashing.stageLeaf(p.index, stageIn, _h(p.index, 1)));
        bytes32[] memory proof;
        uint256 slashedBefore = market.collateralOf(p.jobId, p.provider);
        spotCheck.revealBuyerLeaf(
            p.jobId,
            p.receiptId,
            0,
            ISpotCheck.BuyerLeaf(p.index, uint64(p.index), 1, _h(p.index, 0), _h(p.index, 1), ReceiptHashing.hashRoute(route)),
            proof,
            route,
            parts
        );
        spotCheck.revealStageLeaf(p.jobId, p.receiptId, 0, 0, ISpotCheck.StageLeaf(p.index, stageIn, _h(p.index, 1)), proof, route, parts);
        if (p.lying) ghostSlashedIn += slashedBefore;
    }

    /// @dev Fixes the receipt's seed once its block is mined; false when not yet possible.
    function _seed(PendingReceipt memory p) private returns (bool) {
        if (spotCheck.receiptCheck(p.jobId, p.receiptId).seededAt != 0) return true;
        IJobMarket.Receipt memory r = market.receipt(p.jobId, p.receiptId);
        if (block.number < r.submittedBlock + 2) vm.roll(r.submittedBlock + 2);
        spotCheck.drawSamples(p.jobId, p.receiptId);
        return spotCheck.receiptCheck(p.jobId, p.receiptId).seededAt != 0;
    }

    function settle(uint256 seed, uint256 wait) external {
        if (_pending.length == 0) return;
        vm.warp(block.timestamp + bound(wait, 0, 3 hours));
        uint256 pick = seed % _pending.length;
        PendingReceipt memory p = _pending[pick];
        IJobMarket.Receipt memory r = market.receipt(p.jobId, p.receiptId);
        if (!_seed(p)) return;
        (, uint256 challengeEnds) = spotCheck.deadlines(p.jobId, p.receiptId);
        if (block.timestamp < challengeEnds) return;
        ISpotCheck.Sample memory s = spotCheck.sample(p.jobId, p.receiptId, 0);
        if (!s.resolved) {
            address[] memory route = new address[](1);
            route[0] = p.provider;
            uint256 collateral = market.collateralOf(p.jobId, s.buyerRevealed ? p.provider : r.submitter);
            spotCheck.reportMissing(p.jobId, p.receiptId, 0, route);
            ghostSlashedIn += collateral;
        }
        bytes32 key = keccak256(abi.encode(p.jobId, p.receiptId));
        if (_settledOnce[key]) paidTwice = true;
        IJobMarket.PartRecord[] memory parts = new IJobMarket.PartRecord[](1);
        bytes32 stageIn = p.lying ? bytes32(p.index + 7) : _h(p.index, 0);
        parts[0] = IJobMarket.PartRecord(0, p.provider, 1, 1, ReceiptHashing.stageLeaf(p.index, stageIn, _h(p.index, 1)));
        market.settle(p.jobId, p.receiptId, parts);
        _settledOnce[key] = true;
        ghostSettled += 1;
        _pending[pick] = _pending[_pending.length - 1];
        _pending.pop();
    }

    function closeJob(uint256 seed, uint256 wait) external {
        if (_jobs.length == 0) return;
        vm.warp(block.timestamp + bound(wait, 0, 2 days));
        JobId jobId = _jobs[seed % _jobs.length];
        IJobMarket.Job memory j = market.job(jobId);
        if (j.status != IJobMarket.JobStatus.Open || j.pendingReceipts != 0 || block.timestamp < j.expiresAt) return;
        market.closeJob(jobId);
    }

    function withdraw(uint256 seed) external {
        address[6] memory who = [address(this), vm.addr(providerPks[0]), vm.addr(providerPks[1]), verifier, treasury, publisher];
        address a = who[seed % 6];
        uint256 c = market.credits(a);
        if (c == 0) return;
        vm.prank(a);
        market.withdraw();
        ghostWithdrawn += c;
    }

    function accounts() external view returns (address[6] memory) {
        return [address(this), vm.addr(providerPks[0]), vm.addr(providerPks[1]), verifier, treasury, publisher];
    }

    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    function jobAt(uint256 i) external view returns (JobId) {
        return _jobs[i];
    }

    function _h(uint256 index, uint256 cut) private pure returns (bytes32) {
        return keccak256(abi.encode(index, cut));
    }
}

/// @notice Invariants of the job market: its token balance always equals escrow + credits +
///         bonds; nothing is paid twice; what leaves never exceeds what came in.
contract MarketInvariantTest is TestBase {
    MarketHandler internal handler;

    function setUp() public {
        handler = new MarketHandler();
        handler.init();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_balanceEqualsEscrowPlusCreditsPlusBonds() public view {
        JobMarket market = handler.market();
        uint256 sum = market.bondsHeld();
        for (uint256 i; i < handler.jobCount(); ++i) sum += market.job(handler.jobAt(i)).escrow;
        address[6] memory who = handler.accounts();
        for (uint256 i; i < 6; ++i) sum += market.credits(who[i]);
        assertEq(handler.token().balanceOf(address(market)), sum, "market balance != escrow + credits + bonds");
    }

    function invariant_outflowWithinInflow() public view {
        assertLe(handler.ghostWithdrawn(), handler.ghostEscrowIn() + handler.ghostSlashedIn(), "paid out more than came in");
    }

    function invariant_nothingSettledTwice() public view {
        assertTrue(!handler.paidTwice(), "a receipt was settled twice");
    }

    function invariant_stakingBalanceEqualsStake() public view {
        ProviderStaking staking = handler.staking();
        address[6] memory who = handler.accounts();
        uint256 sum;
        for (uint256 i; i < 6; ++i) {
            IProviderStaking.Stake memory s = staking.stakeOf(who[i]);
            sum += uint256(s.staked) + s.unbonding;
            assertLe(s.locked, s.staked, "locked above staked");
        }
        assertEq(handler.token().balanceOf(address(staking)), sum, "staking balance != stake");
    }
}
